/**
 * Teams and user profiles. A conversation's `name` and `avatar` come from the peer's profile (P2P)
 * or the team; when either changes, every conversation that shows it is rewritten in the same
 * transaction and streamed to its owner.
 */
import {
  Collection,
  ConversationType,
  assertValidId,
  invalidParameter,
  Limits,
  normalizeConversation,
  type ConversationDoc,
} from '@convsync/protocol';
import type { DomainContext } from '../context.js';
import type { StoreTx, UserRecord } from '../store/store.js';
import { ChangeSet } from '../sync/changes.js';

export interface TeamInput {
  teamId: string;
  name: string;
  memberIds: readonly string[];
  /** A super team (type 3 conversations) rather than a team (type 2). */
  superTeam?: boolean;
}

export interface UserInput {
  accountId: string;
  name?: string;
  avatar?: string;
}

function checkName(name: unknown, what: string, max: number): void {
  if (typeof name !== 'string' || name.length > max) throw invalidParameter(`${what} must be a string of at most ${max} characters`);
}

/** Rewrites `name`/`avatar` of every conversation with lookup key `target`. */
async function renameConversations(
  tx: StoreTx,
  options: { target: string; name: string; avatar: string; changes: ChangeSet },
): Promise<void> {
  const found = await tx.findDocsByTarget(Collection.CONVERSATIONS, options.target);
  const owners = [...new Set(found.map((row) => row.owner))].sort();
  await tx.lockLogs(Collection.CONVERSATIONS, owners);
  // Re-read under the lock: a message may have rewritten a document since it was found.
  const rows = await tx.getDocs(Collection.CONVERSATIONS, found.map((row) => ({ owner: row.owner, id: row.id })));
  for (const row of rows) {
    if (row === undefined) continue;
    const doc = JSON.parse(row.json) as ConversationDoc;
    if (doc.name === options.name && doc.avatar === options.avatar) continue;
    options.changes.putConversation(row.owner, normalizeConversation({ ...doc, name: options.name, avatar: options.avatar }));
  }
}

/** Creates or replaces a team and its members (members get a conversation with its first message). */
export async function createTeam(ctx: DomainContext, input: TeamInput): Promise<void> {
  assertValidId(input.teamId, 'teamId');
  checkName(input.name, 'team name', Limits.MAX_NAME_LENGTH);
  if (!Array.isArray(input.memberIds) || input.memberIds.length > Limits.MAX_TEAM_MEMBERS) {
    throw invalidParameter(`memberIds must be an array of at most ${Limits.MAX_TEAM_MEMBERS} ids`);
  }
  for (const member of input.memberIds) assertValidId(member, 'memberId');
  const superTeam = input.superTeam === true;
  await ctx.store.transaction(async (tx) => {
    await tx.putTeam({ teamId: input.teamId, name: input.name, superTeam, memberIds: [...new Set(input.memberIds)] });
    const changes = new ChangeSet();
    const type = superTeam ? ConversationType.SUPER_TEAM : ConversationType.TEAM;
    await renameConversations(tx, { target: `${type}|${input.teamId}`, name: input.name, avatar: '', changes });
    await changes.commit(tx, ctx.publish);
  });
}

/** Creates or updates a profile; the given fields change, the others stay. */
export async function upsertUser(ctx: DomainContext, input: UserInput): Promise<UserRecord> {
  assertValidId(input.accountId, 'accountId');
  if (input.name !== undefined) checkName(input.name, 'name', Limits.MAX_NAME_LENGTH);
  if (input.avatar !== undefined) checkName(input.avatar, 'avatar', Limits.MAX_AVATAR_LENGTH);
  return ctx.store.transaction(async (tx) => {
    const user = await tx.upsertUser(input);
    const changes = new ChangeSet();
    await renameConversations(tx, { target: `${ConversationType.P2P}|${user.accountId}`, name: user.name, avatar: user.avatar, changes });
    await changes.commit(tx, ctx.publish);
    return user;
  });
}
