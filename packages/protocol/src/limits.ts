/** Limits from the seed's SDK (docs/API.md "Limits") and the ones the wire needs to stay bounded. */
export const Limits = {
  MAX_PINNED: 100,
  MAX_GROUPS_PER_CONVERSATION: 5,
  MAX_GROUPS: 100,
  MAX_CONVERSATIONS_PER_GROUP: 1000,
  MAX_BATCH_IDS: 100,
  MAX_SERVER_EXTENSION_BYTES: 1024,
  /** Page limits above this are capped, not refused. */
  MAX_PAGE_LIMIT: 100,
  MAX_ID_LENGTH: 128,
  MAX_NAME_LENGTH: 128,
  MAX_AVATAR_LENGTH: 1024,
  MAX_TEXT_LENGTH: 5000,
  /** The last-message preview kept in a conversation document. */
  MAX_PREVIEW_LENGTH: 500,
  MAX_TEAM_MEMBERS: 10_000,
  MAX_PULL_BATCH: 2000,
  MAX_PUSH_ROWS: 500,
  /**
   * The JSON bytes of one push's rows. A device splits a larger batch into several pushes: 500
   * rows of maximal documents are ≈ 4 MB, and the server closes a socket whose frame passes its
   * `maxHttpBufferSize` (1.5 MB), so a row limit alone is not enough.
   */
  MAX_PUSH_BYTES: 1_000_000,
  MAX_MESSAGE_PAGE: 100,
} as const;

/** UTF-8 byte length, the unit of the seed's extension limit. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
