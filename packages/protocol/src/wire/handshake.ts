/** `socket.handshake.auth`: sent once when the socket connects. */
import * as v from 'valibot';
import { isDeviceId } from '../hlc.js';

export const handshakeAuthSchema = v.object({
  token: v.pipe(v.string(), v.minLength(1), v.maxLength(4096)),
  protocolVersion: v.pipe(v.number(), v.integer()),
  deviceId: v.optional(v.custom<string>(isDeviceId, 'malformed device id')),
});
export type HandshakeAuth = v.InferOutput<typeof handshakeAuthSchema>;
