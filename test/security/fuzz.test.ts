/**
 * At least 10,000 hostile frames against the server child process — type-confused payloads,
 * unknown events, malformed and oversized packets, raw garbage — while a normal device keeps
 * working: no crash, no unhandled rejection (Node would exit), no internal error, bounded memory,
 * and the normal device's every request answered correctly throughout.
 */
import { ClientEvent, PROTOCOL_VERSION } from '@convsync/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ServerProcess } from '../harness/server-process.js';
import { WireClient } from '../harness/wire-client.js';
import { eventFrame, oversizedFrame, rawFrame, sampleFrames } from './frames.js';
import { pinned, startSeededServer } from './fixtures.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const EVENT_FRAMES = 6000;
const RAW_FRAMES = 4200;
const PER_SOCKET = 400;

/** Opens a raw engine.io websocket and connects socket.io's main namespace with a valid token. */
async function rawSocket(url: string, token: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data: WebSocket.RawData) => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : '';
      if (text.startsWith('0')) ws.send(`40${JSON.stringify({ token, protocolVersion: PROTOCOL_VERSION })}`);
      else if (text.startsWith('40')) resolve();
      else if (text === '2') ws.send('3');
    });
  });
  return ws;
}

describe('security: fuzzed frames', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startSeededServer();
  });
  afterAll(async () => {
    await server.dispose();
  });

  it(`survives ${EVENT_FRAMES + RAW_FRAMES} hostile frames while a normal device keeps being served (seed ${SEED})`, async () => {
    // The normal device: pins and unpins its conversation and reads it back, all along.
    const carol = await WireClient.connect({ url: server.url, token: server.token('carol') });
    let stop = false;
    const normal = { requests: 0, failures: [] as string[], maxLatencyMs: 0 };
    const normalLoop = (async () => {
      let i = 0;
      while (!stop) {
        i++;
        const started = Date.now();
        const stamp = `${String(Date.now()).padStart(15, '0')}-${String(i).padStart(6, '0')}-carol`;
        const doc = { ...pinned('carol|1|bob', stamp), stickTop: i % 2 === 0 };
        // Served, not fast: a loaded CI machine may be slow, a refused or dropped request fails.
        const push = await carol.request(ClientEvent.PUSH, { collection: 'conversations', rows: [{ newDocumentState: doc }] }, 30_000);
        const pull = await carol.request(ClientEvent.PULL, { collection: 'conversations', checkpoint: null, batchSize: 50 }, 30_000);
        normal.requests += 2;
        normal.maxLatencyMs = Math.max(normal.maxLatencyMs, Date.now() - started);
        if (!push.ok) normal.failures.push(`push: ${JSON.stringify(push.error)}`);
        if (!pull.ok) normal.failures.push(`pull: ${JSON.stringify(pull.error)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    // Warm up, then measure memory around the storm.
    await new Promise((r) => setTimeout(r, 300));
    const rssBefore = server.rssBytes();
    let sent = 0;

    // 1. socket.io events, spread over sockets so the per-socket rate limit is not all we test.
    const frames = sampleFrames(eventFrame, EVENT_FRAMES, SEED);
    for (let start = 0; start < frames.length; start += PER_SOCKET) {
      const mallory = await WireClient.connect({ url: server.url, token: server.token('mallory') });
      const acks: Promise<unknown>[] = [];
      for (const frame of frames.slice(start, start + PER_SOCKET)) {
        if (frame.withAck) acks.push(mallory.socket.timeout(10_000).emitWithAck(frame.event, ...frame.args).catch(() => undefined));
        else mallory.socket.emit(frame.event, ...frame.args);
        sent++;
      }
      await Promise.all(acks);
      mallory.close();
    }

    // 2. raw frames over a bare websocket; a socket the server closes is replaced.
    const raw = sampleFrames(rawFrame, RAW_FRAMES - 5, SEED + 1);
    for (let i = 0; i < 5; i++) raw.splice(i * 700, 0, oversizedFrame());
    let ws = await rawSocket(server.url, server.token('mallory'));
    for (const frame of raw) {
      if (ws.readyState !== WebSocket.OPEN) {
        ws.terminate();
        ws = await rawSocket(server.url, server.token('mallory'));
      }
      await new Promise<void>((resolve) => ws.send(frame, () => resolve()));
      sent++;
    }
    ws.terminate();

    stop = true;
    await normalLoop;
    // The device still works after the storm, and its last write is what the server holds.
    const [conversation] = await carol.pullAll('conversations').then((docs) => docs.filter((d) => d.conversationId === 'carol|1|bob'));
    carol.close();
    const rssAfter = server.rssBytes();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();

    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(server.running).toBe(true);
    expect(server.crashes).toBe(0);
    expect((await fetch(`${server.url}/healthz`)).ok).toBe(true);
    expect(metrics).not.toMatch(/convsync_errors_total\{code="500"\}/);
    expect(normal.failures).toEqual([]);
    expect(normal.requests).toBeGreaterThan(20);
    expect(conversation?.clock.stickTop.endsWith('-carol')).toBe(true);
    expect(rssAfter - rssBefore).toBeLessThan(200 * 1024 * 1024);
    console.info(`fuzz: ${sent} frames, normal device ${normal.requests} requests (max ${normal.maxLatencyMs} ms), rss ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MB`);
  });
});
