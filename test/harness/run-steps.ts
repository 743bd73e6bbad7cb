/**
 * The steps both convergence runners share — `run.ts` (protocol-level devices) and `engine-run.ts`
 * (real engines): the population a scenario asks for, the peer's sends and the cluster faults,
 * settling after healing, and the parts of the check that read the server the same way.
 */
import {
  ClientEvent,
  ConversationType,
  conversationId,
  messageListAnswerSchema,
  messageSchema,
  parseConversationId,
  parseOrThrow,
  type ConversationDoc,
  type Message,
} from '@convsync/protocol';
import { accountOf, peerOf, teamOf, type Cluster } from './cluster.js';
import { FAULT_KINDS, type Op, type Scenario } from './scenario.js';
import { WireClient } from './wire-client.js';

export interface RunResult {
  run: number;
  accounts: number;
  devices: number;
  ops: number;
  faults: number;
  writesChecked: number;
  messagesChecked: number;
  divergent: number;
  lost: number;
  duplicated: number;
  unreadMismatches: number;
  readTimeRegressions: number;
  crashes: number;
  failures: string[];
}

/** A send as the peer asked for it, kept until the server acknowledges it. */
export interface PeerSend {
  conversationId: string;
  clientMessageId: string;
  text: string;
}

/** What both runners know of a run, whatever their devices are. */
export interface RunContext<D> {
  run: number;
  cluster: Cluster;
  devices: D[];
  accountIds: string[];
  /** The account index of each device. */
  accountOfDevice: number[];
  /** Conversations an account can touch: P2P with every other account and the peer, the team. */
  candidates: string[][];
  peerMessages: Message[];
  /** Peer sends without an acknowledgement (the server may have committed them): retried after healing. */
  peerPending: PeerSend[];
  /** Faults among the scenario's operations. */
  /** Operations the scenario plays (faults included). */
  ops: number;
  faults: number;
  /** Numbers the run's client message ids. */
  counter: number;
  /** The server's crash count before the run, so the result counts only the run's own. */
  crashesBefore: number;
}

export function conversationsOf(run: number, accounts: number, a: number): string[] {
  const self = accountOf(run, a);
  const ids = [conversationId(self, ConversationType.TEAM, teamOf(run)), conversationId(self, ConversationType.P2P, peerOf(run))];
  for (let other = 0; other < accounts; other++) if (other !== a) ids.push(conversationId(self, ConversationType.P2P, accountOf(run, other)));
  return ids;
}

export const pick = <T>(items: readonly T[], i: number): T => items[i % items.length] as T;

/**
 * A fresh run on the cluster with the scenario's population: `device` builds each device (in
 * account order) from its account and its index among all the run's devices.
 */
export async function startRun<D>(
  cluster: Cluster,
  scenario: Scenario,
  device: (run: number, account: string, index: number) => D,
): Promise<RunContext<D>> {
  const run = await cluster.newRun();
  const accounts = scenario.devicesPerAccount.length;
  const ctx: RunContext<D> = {
    run,
    cluster,
    devices: [],
    accountIds: Array.from({ length: accounts }, (_, a) => accountOf(run, a)),
    accountOfDevice: [],
    candidates: Array.from({ length: accounts }, (_, a) => conversationsOf(run, accounts, a)),
    peerMessages: [],
    peerPending: [],
    ops: scenario.ops.length,
    faults: scenario.ops.filter((op) => FAULT_KINDS.has(op.kind)).length,
    counter: 0,
    crashesBefore: cluster.server.crashes,
  };
  scenario.devicesPerAccount.forEach((count, a) => {
    for (let i = 0; i < count; i++) {
      const index = ctx.devices.length;
      ctx.accountOfDevice.push(a);
      ctx.devices.push(device(run, accountOf(run, a), index));
    }
  });
  return ctx;
}

/** The operations that act on the cluster itself (the server process, the proxy) or on time. */
export type ClusterOp = Extract<Op, { kind: 'proxy' | 'kill' | 'restart' | 'crashAt' | 'flow' }>;

export async function playClusterOp(cluster: Cluster, op: ClusterOp): Promise<void> {
  switch (op.kind) {
    case 'proxy':
      if (op.mode === 'delay') cluster.proxy?.delay(30);
      else cluster.proxy?.[op.mode]();
      return;
    case 'kill':
      await cluster.kill();
      return;
    case 'restart':
      await cluster.restart();
      return;
    case 'crashAt':
      await cluster.arm({ point: op.point, event: op.event, nth: op.nth });
      return;
    case 'flow':
      await new Promise((r) => setTimeout(r, op.ms));
      return;
  }
}

/**
 * A message from the run's peer account (outside the devices) to an account or the team, over a
 * protocol-level client. An acknowledged send joins `peerMessages`; one without an answer joins
 * `peerPending`, since the server may have committed it. Skipped while the server is down.
 */
export async function playPeerSend(
  ctx: RunContext<unknown>,
  op: Extract<Op, { kind: 'peerSend' }>,
  text: (clientMessageId: string) => string,
): Promise<void> {
  const { cluster, run } = ctx;
  if (!cluster.server.running) return;
  const peer = await WireClient.connect({ url: cluster.server.url, token: cluster.server.token(peerOf(run)) }).catch(() => undefined);
  if (peer === undefined) return;
  try {
    const target = op.team ? teamOf(run) : pick(ctx.accountIds, op.a);
    const id = conversationId(peerOf(run), op.team ? ConversationType.TEAM : ConversationType.P2P, target);
    const clientMessageId = `r${run}p${ctx.counter++}`;
    const request = { clientMessageId, conversationId: id, text: text(clientMessageId) };
    const answer = await peer.request(ClientEvent.MESSAGE_SEND, request, 3000);
    if (answer.ok) ctx.peerMessages.push(parseOrThrow(messageSchema, answer.message, 'peer message'));
    else ctx.peerPending.push(request);
  } finally {
    peer.close();
  }
}

/**
 * Retries the peer's unacknowledged sends (as an outbox would) until each is acknowledged, so the
 * model knows every message the server may hold: a send killed after its commit exists.
 */
export async function retryPeerSends(ctx: RunContext<unknown>): Promise<void> {
  const { cluster, peerPending, peerMessages } = ctx;
  if (peerPending.length === 0) return;
  const peer = await WireClient.connect({ url: cluster.server.url, token: cluster.server.token(peerOf(ctx.run)) });
  try {
    for (const request of peerPending.splice(0)) {
      const answer = await peer.request(ClientEvent.MESSAGE_SEND, request, 10_000);
      if (!answer.ok) throw new Error(`peer send ${request.clientMessageId} refused after healing: ${answer.error.code} ${answer.error.desc}`);
      peerMessages.push(parseOrThrow(messageSchema, answer.message, 'peer message'));
    }
  } finally {
    peer.close();
  }
}

/**
 * Settles every device, one after the other, twice: the last settles of the first pass may have
 * produced documents the first ones have not seen. Returns what the second pass settled on.
 */
export async function settleTwice<T>(devices: readonly { settle(): Promise<T> }[]): Promise<T[]> {
  for (const device of devices) await device.settle();
  const settled: T[] = [];
  for (const device of devices) settled.push(await device.settle());
  return settled;
}

/** A result with nothing counted yet; the checks add to it and to `failures`. */
export function emptyResult(ctx: RunContext<unknown>, failures: string[]): Omit<RunResult, 'crashes'> {
  return {
    run: ctx.run,
    accounts: ctx.accountIds.length,
    devices: ctx.devices.length,
    ops: ctx.ops,
    faults: ctx.faults,
    writesChecked: 0,
    messagesChecked: 0,
    divergent: 0,
    lost: 0,
    duplicated: 0,
    unreadMismatches: 0,
    readTimeRegressions: 0,
    failures,
  };
}

/**
 * Runs `check` with a protocol-level client signed in as each of the run's accounts and the peer
 * (how the checks read the server's state), closing every client afterwards.
 */
export async function withServerViews<T>(ctx: RunContext<unknown>, check: (views: Map<string, WireClient>) => Promise<T>): Promise<T> {
  const { cluster } = ctx;
  const views = new Map<string, WireClient>();
  try {
    for (const account of [...ctx.accountIds, peerOf(ctx.run)]) {
      views.set(account, await WireClient.connect({ url: cluster.server.url, token: cluster.server.token(account) }));
    }
    return await check(views);
  } finally {
    for (const view of views.values()) view.close();
  }
}

/** The canonical key of a message's conversation, as the protocol's ids express it. */
export function canonicalKey(message: Message): string {
  if (message.conversationType === ConversationType.P2P) return [message.senderId, message.receiverId].sort().join('↔');
  return `team:${message.receiverId}`;
}

/** Messages by the canonical key of their conversation, in the order given. */
export function byConversation(messages: readonly Message[]): Map<string, Message[]> {
  const byKey = new Map<string, Message[]>();
  for (const m of messages) byKey.set(canonicalKey(m), [...(byKey.get(canonicalKey(m)) ?? []), m]);
  return byKey;
}

/**
 * Unread counts derive from the messages and the read times: each of `account`'s conversation
 * documents counts the others' messages after its read time (or the point it was deleted at).
 * A mismatch is counted in `result` and described in its failures.
 */
export function checkUnreadCounts(
  result: Pick<RunResult, 'unreadMismatches' | 'failures'>,
  account: string,
  docs: Iterable<ConversationDoc>,
  byKey: ReadonlyMap<string, readonly Message[]>,
): void {
  for (const doc of docs) {
    const parsed = parseConversationId(doc.conversationId);
    const key = parsed.type === ConversationType.P2P ? [account, parsed.targetId].sort().join('↔') : `team:${parsed.targetId}`;
    const readUpTo = Math.max(doc.lastReadTime, doc.deletedBefore);
    const expected = (byKey.get(key) ?? []).filter((m) => m.senderId !== account && m.createTime > readUpTo).length;
    if (doc.unreadCount !== expected) {
      result.unreadMismatches++;
      result.failures.push(`${doc.conversationId}: unread ${doc.unreadCount}, messages say ${expected}`);
    }
  }
}

/** Every message of a conversation, as `view`'s account lists it, newest page first. */
export async function listAll(view: WireClient, id: string): Promise<Message[]> {
  const all: Message[] = [];
  let beforeTime: number | undefined;
  for (;;) {
    const answer = parseOrThrow(messageListAnswerSchema, await view.request(ClientEvent.MESSAGE_LIST, { conversationId: id, limit: 100, ...(beforeTime === undefined ? {} : { beforeTime }) }), 'list');
    if (!answer.ok) throw new Error(`message:list ${id}: ${answer.error.code}`);
    all.push(...answer.messages);
    if (answer.messages.length < 100) return all;
    beforeTime = (answer.messages[answer.messages.length - 1] as Message).createTime;
  }
}
