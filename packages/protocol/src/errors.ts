/**
 * The closed set of error codes (docs/API.md "Errors and error codes"). Codes follow the seed's SDK where it has one; the
 * 192xxx range covers the connection, which the seed leaves to each platform.
 */
export const ErrorCode = {
  /** Malformed id, unknown type, bad limit, empty filter, oversized extension or payload. */
  INVALID_PARAMETER: 191004,
  TOO_MANY_PINNED: 110303,
  TOO_MANY_GROUPS_FOR_CONVERSATION: 110304,
  CONVERSATION_NOT_FOUND: 110404,
  GROUP_NOT_FOUND: 116404,
  TOO_MANY_GROUPS: 116435,
  TOO_MANY_CONVERSATIONS_IN_GROUP: 116437,
  RATE_LIMITED: 416,
  AUTH_FAILED: 302,
  /** The account may not touch that resource (another account's conversation, a team it is not in). */
  FORBIDDEN: 403,
  /** A resource other than a conversation or group is absent (a team, a user). */
  NOT_FOUND: 404,
  INTERNAL: 500,
  SERVER_UNREACHABLE: 192001,
  TIMEOUT: 192002,
  PROTOCOL_MISMATCH: 192003,
  /** The call needs the server and the engine is offline (`disconnect()` or no network). */
  OFFLINE: 192004,
  /** The engine was closed. */
  CLOSED: 192005,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES: ReadonlySet<number> = new Set(Object.values(ErrorCode));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'number' && KNOWN_CODES.has(value);
}

/** The error of every ConvSync call: a numeric `code`, a human `desc`, structured `detail`. */
export class ConvSyncError extends Error {
  override readonly name = 'ConvSyncError';
  readonly code: ErrorCode;
  readonly desc: string;
  readonly detail: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    desc: string,
    options: { detail?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(`${desc} (${code})`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.desc = desc;
    this.detail = Object.freeze({ ...options.detail });
  }

  /** The error as it travels in an answer (`{ok: false, error}`). */
  toWire(): WireError {
    const detail = this.detail;
    return Object.keys(detail).length === 0
      ? { code: this.code, desc: this.desc }
      : { code: this.code, desc: this.desc, detail: { ...detail } };
  }

  /** Rebuilds an error received on the wire; an unknown code becomes INTERNAL. */
  static fromWire(error: WireError): ConvSyncError {
    const code = isErrorCode(error.code) ? error.code : ErrorCode.INTERNAL;
    return new ConvSyncError(code, error.desc, error.detail === undefined ? {} : { detail: error.detail });
  }

  /** Normalises anything thrown into a ConvSyncError, keeping the original as `cause`. */
  static from(error: unknown, fallback: ErrorCode = ErrorCode.INTERNAL): ConvSyncError {
    if (error instanceof ConvSyncError) return error;
    const desc = error instanceof Error ? error.message : String(error);
    return new ConvSyncError(fallback, desc, { cause: error });
  }
}

export interface WireError {
  code: number;
  desc: string;
  detail?: Record<string, unknown>;
}

export function invalidParameter(desc: string, detail?: Record<string, unknown>): ConvSyncError {
  return new ConvSyncError(ErrorCode.INVALID_PARAMETER, desc, detail === undefined ? {} : { detail });
}
