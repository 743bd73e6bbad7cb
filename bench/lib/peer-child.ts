/** The peer's server in its own process (lib/peer.ts `startPeerServer`), filled over IPC. */
import type { ConversationDoc } from '@convsync/protocol';
import { serveParent } from './ipc.js';
import { openPeerMaster } from './peer-master.js';

const master = await openPeerMaster();

serveParent({
  insert: (docs: ConversationDoc[]) => master.insert(docs),
  listen: () => master.listen(),
}, () => master.close());

process.send?.({ ready: true });
