/**
 * The wire protocol version, checked at the socket handshake: a client and a server that disagree
 * refuse each other with a clear error instead of exchanging documents they would misread.
 *
 * History:
 * - 1: pull/push/stream of `conversations` and `conversationGroups` with `{seq}` checkpoints,
 *   `message:send`, `message:list`, `session:info`.
 */
export const PROTOCOL_VERSION = 1;
