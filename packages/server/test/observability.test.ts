/**
 * What an operator reads: `/metrics` (prom-client text with latency histograms, refusals by
 * reason, the process's own metrics; one registry per server), `/readyz` on a healthy server, and
 * the logs (a pino logger or this package's `Logger`, a child per socket bound to its account and
 * device). Readiness with the database or Redis gone is proven against PostgreSQL and a throwaway
 * Redis in `test/scale-out/readiness.test.ts`.
 */
import { Writable } from 'node:stream';
import { ClientEvent, PROTOCOL_VERSION } from '@convsync/protocol';
import { pino } from 'pino';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createReadiness } from '../src/health.js';
import { jsonLogger, type Logger, type LogLevel } from '../src/index.js';
import { childLogger } from '../src/logger.js';
import { Harness, localDoc, waitFor } from './helpers.js';

/** The value of one series (`name` with exactly these labels, or none) in Prometheus text. */
function sample(text: string, name: string, labels = ''): number {
  const escaped = `${name}${labels}`.replace(/[{}"|.+*?()[\]\\^$]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]);
}

async function scrape(url: string): Promise<{ text: string; contentType: string | null }> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  return { text: await response.text(), contentType: response.headers.get('content-type') };
}

/** Resolves with the connect_error of a handshake that must be refused. */
function refused(url: string, auth: Record<string, unknown>, extraHeaders?: Record<string, string>): Promise<Error> {
  const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, ...(extraHeaders === undefined ? {} : { extraHeaders }) });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.disconnect();
      reject(new Error('the handshake was accepted'));
    });
    socket.once('connect_error', (error) => {
      socket.disconnect();
      resolve(error);
    });
  });
}

describe('observability', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('scrapes latency histograms, refusals by reason and the process metrics after real traffic', async () => {
    const server = await h.server();
    const before = (await scrape(server.url)).text;
    // Every series of a closed label set is there before anything happened.
    for (const reason of ['auth', 'protocol', 'invalid', 'origin', 'rate_limit', 'draining', 'internal']) {
      expect(sample(before, 'convsync_handshakes_refused_total', `{reason="${reason}"}`)).toBe(0);
    }
    expect(sample(before, 'convsync_pull_duration_seconds_count')).toBe(0);

    const alice = await h.client(server, 'alice', { deviceId: 'phone' });
    await alice.pullAll();
    await alice.ok(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: localDoc('alice|1|bob') }] });
    await alice.send('alice|1|bob', 'hello');
    await server.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'hi' });
    const token = await server.issueToken('mallory');
    await refused(server.url, { protocolVersion: PROTOCOL_VERSION });
    await refused(server.url, { token: 'not-a-jwt', protocolVersion: PROTOCOL_VERSION });
    await refused(server.url, { token, protocolVersion: PROTOCOL_VERSION + 100 });

    const { text, contentType } = await scrape(server.url);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(text, 'convsync_pull_duration_seconds_count')).toBe(1);
    expect(sample(text, 'convsync_push_duration_seconds_count')).toBe(1);
    expect(sample(text, 'convsync_message_ingest_duration_seconds_count', '{source="device"}')).toBe(1);
    expect(sample(text, 'convsync_message_ingest_duration_seconds_count', '{source="backend"}')).toBe(1);
    // The 10 s bucket holds every observation (nothing here took longer).
    expect(sample(text, 'convsync_push_duration_seconds_bucket', '{le="10"}')).toBe(1);
    expect(sample(text, 'convsync_push_duration_seconds_sum')).toBeGreaterThan(0);
    expect(sample(text, 'convsync_handshake_duration_seconds_count', '{outcome="accepted"}')).toBe(1);
    expect(sample(text, 'convsync_handshake_duration_seconds_count', '{outcome="refused"}')).toBe(3);
    expect(sample(text, 'convsync_handshakes_refused_total', '{reason="auth"}')).toBe(2);
    expect(sample(text, 'convsync_handshakes_refused_total', '{reason="protocol"}')).toBe(1);
    expect(sample(text, 'convsync_connections')).toBe(1);
    expect(sample(text, 'convsync_messages_total')).toBe(2);
    expect(sample(text, 'convsync_store_errors_total', '{operation="transaction"}')).toBe(0);
    expect(sample(text, 'convsync_store_retries_total', '{reason="deadlock"}')).toBe(0);
    expect(sample(text, 'convsync_redis_publish_failures_total')).toBe(0);
    // The process's own metrics: CPU, memory, event-loop lag, GC.
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
      expect(sample(text, name), name).toBeGreaterThanOrEqual(0);
    }
    expect(text).toMatch(/^# TYPE nodejs_gc_duration_seconds histogram$/m);
  });

  it('counts a browser origin outside the allowlist as an origin refusal', async () => {
    const server = await h.server({ allowedOrigins: ['https://app.example'] });
    const token = await server.issueToken('alice');
    await refused(server.url, { token, protocolVersion: PROTOCOL_VERSION }, { origin: 'https://evil.example' });
    expect(sample((await scrape(server.url)).text, 'convsync_handshakes_refused_total', '{reason="origin"}')).toBe(1);
  });

  it('keeps each server\'s series to itself when several run in one process', async () => {
    const first = await h.server();
    const second = await h.server();
    await first.sendMessage({ from: 'bob', conversationType: 1, targetId: 'alice', text: 'hi' });
    expect(sample((await scrape(first.url)).text, 'convsync_messages_total')).toBe(1);
    expect(sample((await scrape(second.url)).text, 'convsync_messages_total')).toBe(0);
  });

  it('answers /readyz 200 while the store answers, and /healthz throughout', async () => {
    const server = await h.server();
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', down: [] });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('logs through an injected pino logger, each socket\'s lines bound to its account and device', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const server = await h.server({ logger: pino({ level: 'debug' }, sink) });
    const alice = await h.client(server, 'alice', { deviceId: 'phone' });
    expect((await alice.request(ClientEvent.PULL, { collection: 'nope', checkpoint: { seq: 0 }, batchSize: 10 })).ok).toBe(false);
    await waitFor(() => lines.some((l) => l.msg === 'request refused'), 5000, 'the refusal line');
    expect(lines.find((l) => l.msg === 'server listening')).toMatchObject({ level: 30, url: server.url });
    expect(lines.find((l) => l.msg === 'socket connected')).toMatchObject({ accountId: 'alice', deviceId: 'phone' });
    expect(lines.find((l) => l.msg === 'request refused')).toMatchObject({ accountId: 'alice', deviceId: 'phone', event: ClientEvent.PULL });
  });

  it('still takes a Logger of this package, binding the socket\'s fields into each line', async () => {
    const lines: { level: LogLevel; msg: string; fields: Record<string, unknown> }[] = [];
    const logger: Logger = { log: (level, msg, fields = {}) => lines.push({ level, msg, fields }) };
    const server = await h.server({ logger });
    await h.client(server, 'alice', { deviceId: 'laptop' });
    await waitFor(() => lines.some((l) => l.msg === 'socket connected'), 5000, 'the connect line');
    expect(lines.find((l) => l.msg === 'socket connected')?.fields).toMatchObject({ accountId: 'alice', deviceId: 'laptop' });
  });

  it('writes JSON lines at or above the configured level, with the level as a word and an ISO time', () => {
    const written: string[] = [];
    const logger = jsonLogger({ level: 'warn', write: (line) => written.push(line), now: () => Date.UTC(2026, 0, 2) });
    logger.log('info', 'dropped');
    childLogger(logger, { accountId: 'alice' }).log('warn', 'kept', { n: 1 });
    expect(written.map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ level: 'warn', time: '2026-01-02T00:00:00.000Z', msg: 'kept', accountId: 'alice', n: 1 }),
    ]);
  });
});

describe('readiness', () => {
  it('names a dependency whose probe does not answer in time, and a probe that throws', async () => {
    const readiness = createReadiness({
      pingStore: () => new Promise(() => undefined),
      pingRedis: () => Promise.reject(new Error('redis publishing connection reconnecting')),
      timeoutMs: 50,
    });
    expect(await readiness.check()).toEqual({
      status: 'unready',
      down: ['store', 'redis'],
      errors: { store: 'no answer within 50 ms', redis: 'redis publishing connection reconnecting' },
    });
  });

  it('shares one probe among concurrent checks, so a hung probe holds one connection at most', async () => {
    let probes = 0;
    let answer = (): void => undefined;
    const hung = new Promise<void>((resolve) => { answer = resolve; });
    const readiness = createReadiness({
      pingStore: () => {
        probes++;
        return probes === 1 ? hung : Promise.resolve();
      },
      timeoutMs: 20,
    });
    const reports = await Promise.all([readiness.check(), readiness.check(), readiness.check()]);
    expect(reports.map((r) => r.down)).toEqual([['store'], ['store'], ['store']]);
    expect(await readiness.check()).toMatchObject({ down: ['store'] });
    expect(probes).toBe(1);
    answer();
    // The hung probe's own answer (or the next probe's) makes it ready again.
    await waitFor(async () => (await readiness.check()).status === 'ready', 2000, 'the probe to answer');
    expect(probes).toBeLessThanOrEqual(2);
  });

  it('answers unready while draining, even with every dependency up', async () => {
    const readiness = createReadiness({ pingStore: () => Promise.resolve(), timeoutMs: 50 });
    expect((await readiness.check()).status).toBe('ready');
    readiness.markDraining();
    expect(await readiness.check()).toEqual({ status: 'unready', down: [], draining: true });
  });
});
