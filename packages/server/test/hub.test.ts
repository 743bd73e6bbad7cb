import { describe, expect, it } from 'vitest';
import type { Server as SocketServer } from 'socket.io';
import type { StreamEvent } from '@convsync/protocol';
import { StreamHub, accountRoom } from '../src/transport/hub.js';

/** Just what the hub uses of a socket.io server: the local rooms and `to(room).emit`. */
function fakeIo(rooms: Map<string, Set<string>>) {
  const emitted: string[] = [];
  const io = {
    sockets: { adapter: { rooms } },
    to: (room: string) => ({ emit: () => emitted.push(room) }),
  };
  return { io: io as unknown as SocketServer, emitted };
}

const event = { collection: 'conversations', documents: [], checkpoint: { seq: 1 }, prevSeq: 0 } as unknown as StreamEvent;

describe('the stream hub', () => {
  it('does not emit to an account room with no socket in this process', () => {
    const { io, emitted } = fakeIo(new Map([[accountRoom('alice'), new Set(['s1'])]]));
    const hub = new StreamHub();
    hub.attach(io, { spansProcesses: false });
    hub.publish('bob', event);
    hub.publish('alice', event);
    expect(emitted).toEqual([accountRoom('alice')]);
  });

  it('always emits when an adapter spans processes (another one may hold the sockets)', () => {
    const { io, emitted } = fakeIo(new Map());
    const hub = new StreamHub();
    hub.attach(io, { spansProcesses: true });
    hub.publish('bob', event);
    expect(emitted).toEqual([accountRoom('bob')]);
  });

  it('still gives the event to in-process sessions of an account without sockets', () => {
    const { io } = fakeIo(new Map());
    const hub = new StreamHub();
    hub.attach(io, { spansProcesses: false });
    const seen: StreamEvent[] = [];
    hub.subscribe('bob', (e) => seen.push(e));
    hub.publish('bob', event);
    expect(seen).toEqual([event]);
  });
});
