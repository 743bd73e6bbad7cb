/**
 * Rows (src/replica/rows.ts): a document and its stored row. The row made in place must stay an
 * object with fast properties whatever shape the document arrived in: a dictionary-mode row made
 * the first edit of it slower (the unread views' local read in bench/ edits exactly those).
 */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { documentOf, toRowInPlace, type RowMeta } from '../src/replica/rows.js';

// V8's own answer to "is this object a dictionary?", for this test process only: natives syntax
// exists only in code compiled after the flag is set, hence a Function built from text.
v8.setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

const FIELDS = ['conversationId', 'type', 'targetId', 'stickTop', 'mute', 'serverExtension', 'groups', 'groupIds', 'lastReadTime',
  'deletedBefore', 'clearedBefore', 'serverRev', 'name', 'avatar', 'lastMessage', 'unreadCount', 'sortOrder', 'createTime',
  'updateTime', 'rank', 'clock', '_deleted'];

/**
 * A document of 22 properties, 18 of them outside the object's own slots (an empty literal grown
 * by named stores), as JSON.parse makes one when that shape already exists. `salt` makes the
 * property names, so each call site has a shape no other object had.
 */
function grownDocument(salt: string): Record<string, unknown> {
  const body = FIELDS.map((field, i) => `o.${field}${salt} = ${i};`).join(' ');
  // Named stores need the names in the code: a keyed store would make a dictionary on the way.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return (new Function(`const o = {}; ${body} return o;`) as () => Record<string, unknown>)();
}

const meta = (): RowMeta => ({ dirty: 0, _attachments: {}, _meta: { lwt: 1 }, _rev: '1-a' });
let shapes = 0;
const freshSalt = (): string => `_${process.pid}_${Date.now()}_${++shapes}`;

describe('rows', () => {
  it('a document made its row in place keeps fast properties, where Object.assign would make it a dictionary', () => {
    const control = grownDocument(freshSalt());
    expect(hasFastProperties(control)).toBe(true);
    // The trap the row avoids: on this V8, keyed stores that add new properties turn it.
    expect(hasFastProperties(Object.assign(control, meta()))).toBe(false);

    const doc = grownDocument(freshSalt());
    const row = toRowInPlace(doc, meta());
    expect(row).toBe(doc);
    expect(hasFastProperties(row)).toBe(true);
    expect(row).toMatchObject({ dirty: 0, _attachments: {}, _meta: { lwt: 1 }, _rev: '1-a' });
  });

  it("a row's document has no meta and no dirty mark, and keeps _deleted", () => {
    const row = toRowInPlace({ conversationId: 'alice|1|bob', unreadCount: 2, _deleted: false }, { ...meta(), dirty: 7 });
    const doc = documentOf(row);
    expect(doc).toEqual({ conversationId: 'alice|1|bob', unreadCount: 2, _deleted: false });
    expect(doc).not.toBe(row);
    expect(row).toMatchObject({ dirty: 7 });
  });
});
