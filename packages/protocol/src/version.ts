/**
 * The wire protocol version, checked at the socket handshake: a client and a server that disagree
 * refuse each other with a clear error instead of exchanging documents they would misread.
 *
 * History:
 * - 1: pull/push/stream of `conversations` and `conversationGroups` with `{seq}` checkpoints,
 *   `message:send`, `message:list`, `session:info`.
 *   Later additions that both sides negotiate per request, so no bump (an older peer ignores them):
 *   `sync:pull` `format: 'json'` (the page's documents as one JSON text, `documentsJson`).
 * - 2: `sync:push` rows are `{newDocumentState}` only: the engine's own replicator pushes the
 *   documents it marked dirty and joins the answer, so the RxDB-era `assumedMasterState` (which
 *   the server never read) is gone. A v1 client is refused at the handshake (192003).
 *   Also new in 2 (a client uses each only when the server answered `protocolVersion` ≥ 2):
 *   `sync:pull` `order: 'rank'` (the first-sync page, with `unread` totals; a server without it
 *   answers no `unread`); client → server `session:renew {token}` (→ `{tokenExpiresAt}`);
 *   server → client `session:move {reconnectInMs}` (a draining process); 416 answers and refused
 *   handshakes carry `detail: {scope, retryAfterMs}`; a request after the token's expiry is 302.
 */
export const PROTOCOL_VERSION = 2;
