/**
 * One replica, many tabs (docs/ARCHITECTURE.md "Tabs"). Every tab of a browser profile opens the
 * same replica with RxDB's multiInstance, so each tab's reads, writes and change events cover the
 * writes of every other tab. Only the elected leader holds the connection: it runs the sync
 * (replication and, through the services, the outbox) on the shared replica, so it pushes every
 * tab's edits and delivers every tab's messages. This module is the sync as each tab sees it:
 *
 * - the leader's `startSync(…)` in the leading tab, mirrored to the others over the tabs' channel
 *   (sync state, onSyncStarted/Finished/Failed, the clock offset);
 * - a Transport whose requests (`message:list`) a follower forwards to the leader;
 * - `connect()`/`disconnect()` as the wish of the whole profile (there is one connection);
 * - on the leader's close or crash the next tab is elected and starts the sync from the replica's
 *   saved checkpoints, dirty documents and outbox: nothing is lost, and a message the old leader
 *   may have sent already is deduplicated by the server by its client message id.
 */
import { BehaviorSubject, Subject, distinctUntilChanged, filter, firstValueFrom, map, type Observable, type Subscription } from 'rxjs';
import { ClientEvent, ConvSyncError, ErrorCode, type Message } from '@convsync/protocol';
import type { Sync } from '../replication/sync.js';
import type { SyncState } from '../replication/sync-events.js';
import { decodeAnswer } from '../transport/answers.js';
import type { ClientEventName, RequestOf, ResponseOf, Transport } from '../transport/transport.js';
import type { TabChannel } from './channel.js';
import type { Leadership } from './leadership.js';
import type { TabMessage } from './tab-messages.js';

export interface TabSyncOptions {
  tabId: string;
  channel: TabChannel;
  leadership: Leadership;
  /** The real transport: connected only while this tab leads. */
  transport: Transport;
  /** Starts the replication (held until `release()`); called when this tab becomes the leader. */
  startSync: () => Sync;
  /** Whether the profile starts connected (the engine's `autoConnect`). */
  autoConnect: boolean;
  /** How long a follower waits for the leader's answer to a forwarded request (ms). */
  requestTimeoutMs: number;
  /** The leader's clock offset (server − device), for the leader's state messages. */
  clockOffsetMs: () => number;
  /** A follower learnt the leader's clock offset. */
  onClockOffset: (offsetMs: number) => void;
  reportError: (error: unknown) => void;
}

export interface TabSync extends Sync {
  /** The transport the services use: the real one while leading, else forwarding to the leader. */
  readonly transport: Transport;
  /** Whether this tab holds the connection. */
  readonly leading$: Observable<boolean>;
  /** Connects the profile (any tab may ask; the leader acts). */
  connect(): void;
  /** Disconnects the profile: no tab talks to the server until some tab calls `connect()`. */
  disconnect(): void;
  /** Tells the other tabs what the leader's outbox did with a message (their onSendMessage). */
  relaySent(message: Message): void;
  /** The messages the leader's outbox reported, for this follower's onSendMessage. */
  readonly sent$: Observable<Message>;
}

interface Pending {
  resolve: (answer: unknown) => void;
  reject: (error: ConvSyncError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export function startTabSync(options: TabSyncOptions): TabSync {
  const { tabId, channel, leadership, transport } = options;
  const state$ = new BehaviorSubject<SyncState>('offline');
  const online$ = new BehaviorSubject<boolean>(false);
  const started$ = new Subject<void>();
  const finished$ = new Subject<void>();
  const failed$ = new Subject<ConvSyncError>();
  const sent$ = new Subject<Message>();
  const subscriptions: Subscription[] = [];
  const pending = new Map<number, Pending>();
  let nextRequestId = 0;
  let wanted = options.autoConnect;
  let leaderId: string | undefined;
  let local: Sync | undefined;
  let localSubscriptions: Subscription[] = [];
  let released = false;
  let closed = false;

  const post = (message: TabMessage): void => channel.post(message);
  const postState = (): void => {
    if (local === undefined || closed) return;
    post({ type: 'state', from: tabId, syncState: state$.getValue(), clockOffsetMs: options.clockOffsetMs(), connectionWanted: wanted });
  };

  const rejectPending = (error: ConvSyncError): void => {
    for (const [id, entry] of pending) {
      clearTimeout(entry.timer);
      pending.delete(id);
      entry.reject(error);
    }
  };

  const becomeLeader = (): void => {
    if (closed || local !== undefined) return;
    leaderId = tabId;
    // Questions asked of the previous leader will never be answered: the caller may ask again.
    rejectPending(new ConvSyncError(ErrorCode.OFFLINE, 'the tab that talked to the server closed; ask again'));
    if (wanted) transport.connect();
    const sync = options.startSync();
    local = sync;
    localSubscriptions = [
      sync.syncState$.subscribe((state) => {
        state$.next(state);
        postState();
      }),
      sync.online$.subscribe((online) => online$.next(online)),
      sync.started$.subscribe(() => {
        started$.next();
        post({ type: 'sync-event', from: tabId, event: 'started' });
      }),
      sync.finished$.subscribe(() => {
        finished$.next();
        post({ type: 'sync-event', from: tabId, event: 'finished' });
      }),
      sync.failed$.subscribe((error) => {
        failed$.next(error);
        post({ type: 'sync-event', from: tabId, event: 'failed', error: error.toWire() });
      }),
    ];
    if (released) sync.release();
    postState();
  };

  const answerRequest = async (message: Extract<TabMessage, { type: 'request' }>): Promise<void> => {
    let answer: unknown;
    try {
      const value = await transport.request(message.event, message.payload);
      answer = { ok: true, ...value };
    } catch (error) {
      answer = { ok: false, error: ConvSyncError.from(error).toWire() };
    }
    post({ type: 'answer', from: tabId, to: message.from, id: message.id, answer });
  };

  const onMessage = (message: TabMessage): void => {
    switch (message.type) {
      case 'hello':
        postState();
        return;
      case 'state':
        if (local !== undefined) return;
        leaderId = message.from;
        wanted = message.connectionWanted;
        options.onClockOffset(message.clockOffsetMs);
        state$.next(message.syncState);
        return;
      case 'sync-event':
        if (local !== undefined) return;
        if (message.event === 'started') started$.next();
        else if (message.event === 'finished') finished$.next();
        else {
          const wire = message.error ?? { code: ErrorCode.INTERNAL, desc: 'sync failed in the leading tab' };
          failed$.next(ConvSyncError.fromWire({ code: wire.code, desc: wire.desc, ...(wire.detail === undefined ? {} : { detail: wire.detail }) }));
        }
        return;
      case 'want-connection':
        wanted = message.connected;
        if (local === undefined) return;
        if (wanted) transport.connect();
        else transport.disconnect();
        postState();
        return;
      case 'request':
        if (message.to === tabId && local !== undefined) void answerRequest(message);
        return;
      case 'answer': {
        if (message.to !== tabId) return;
        const entry = pending.get(message.id);
        if (entry === undefined) return;
        pending.delete(message.id);
        clearTimeout(entry.timer);
        entry.resolve(message.answer);
        return;
      }
      case 'sent':
        sent$.next(message.message);
        return;
    }
  };
  subscriptions.push(channel.messages$.subscribe((message) => {
    try {
      onMessage(message);
    } catch (error) {
      options.reportError(error);
    }
  }));
  subscriptions.push(leadership.leading$.pipe(filter(Boolean)).subscribe(() => becomeLeader()));
  // A tab that opens after the leader asks for the current state.
  post({ type: 'hello', from: tabId });

  const forward = <E extends ClientEventName>(event: E, payload: RequestOf<E>, timeoutMs?: number): Promise<ResponseOf<E>> => {
    if (event !== ClientEvent.MESSAGE_LIST) {
      return Promise.reject(new ConvSyncError(ErrorCode.INTERNAL, `${event} is sent by the leading tab only`));
    }
    const to = leaderId;
    if (to === undefined || closed) return Promise.reject(new ConvSyncError(ErrorCode.OFFLINE, 'no tab is talking to the server yet'));
    const id = nextRequestId++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new ConvSyncError(ErrorCode.TIMEOUT, `the leading tab did not answer ${event}`));
      }, timeoutMs ?? options.requestTimeoutMs);
      pending.set(id, { resolve, reject, timer });
      post({ type: 'request', from: tabId, to, id, event: ClientEvent.MESSAGE_LIST, payload: payload as RequestOf<'message:list'> });
    }).then((answer) => decodeAnswer(event, answer));
  };

  const tabTransport: Transport = {
    state$: transport.state$,
    stream$: transport.stream$,
    request: (event, payload, requestOptions) =>
      local !== undefined ? transport.request(event, payload, requestOptions) : forward(event, payload, requestOptions?.timeoutMs),
    connect: () => undefined,
    disconnect: () => undefined,
    close: () => undefined,
  };

  const setWanted = (connected: boolean): void => {
    wanted = connected;
    post({ type: 'want-connection', from: tabId, connected });
    if (local === undefined) return;
    if (connected) transport.connect();
    else transport.disconnect();
    postState();
  };

  return {
    syncState$: state$.pipe(distinctUntilChanged()),
    online$: online$.pipe(distinctUntilChanged()),
    started$: started$.asObservable(),
    finished$: finished$.asObservable(),
    failed$: failed$.asObservable(),
    sent$: sent$.asObservable(),
    leading$: leadership.leading$,
    transport: tabTransport,
    awaitInSync: () => local !== undefined
      ? local.awaitInSync()
      : firstValueFrom(state$.pipe(filter((state) => state === 'synced'), map(() => undefined))),
    release() {
      if (released) return;
      released = true;
      local?.release();
    },
    connect: () => setWanted(true),
    disconnect: () => setWanted(false),
    relaySent(message) {
      post({ type: 'sent', from: tabId, message });
    },
    async cancel() {
      if (closed) return;
      closed = true;
      for (const subscription of subscriptions) subscription.unsubscribe();
      rejectPending(new ConvSyncError(ErrorCode.CLOSED, 'the engine was closed'));
      await local?.cancel();
      for (const subscription of localSubscriptions) subscription.unsubscribe();
      // Only now, with the replication stopped, may the next tab take over.
      await leadership.close().catch(options.reportError);
      await channel.close().catch(options.reportError);
      state$.next('offline');
      state$.complete();
      online$.complete();
      started$.complete();
      finished$.complete();
      failed$.complete();
      sent$.complete();
    },
  };
}
