/**
 * Readiness of a server process (the CLI) whose dependencies fail under it: PostgreSQL behind a
 * TCP proxy that cuts or blackholes its connections, and a throwaway `redis-server` that is
 * stopped and started again (never the machine's shared one). `/readyz` goes 503 naming what is
 * down and back to 200 once it returns; `/healthz` answers 200 throughout; the process never
 * crashes, and `/metrics` counts the stream it could not publish while Redis was away.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeToken } from '../harness/jwt.js';
import { FaultProxy } from '../harness/proxy.js';
import { waitFor } from '../harness/wait.js';
import { PG_URL, ServerNode, ThrowawayRedis, dropSchema, requireServices, runId } from './cluster.js';
import { WireDevice, newConversation } from './device.js';

interface Readiness {
  status: 'ready' | 'unready';
  down: string[];
}

const SECRET = `readiness-${runId('secret')}-0123456789abcdef0123456789`;

describe('readiness with the database or Redis gone', () => {
  const schema = runId('readyz');
  let proxy: FaultProxy;
  let redis: ThrowawayRedis;
  let node: ServerNode;
  const healthChecks: number[] = [];

  const readyz = async (): Promise<{ code: number; body: Readiness }> => {
    const response = await fetch(`${node.url}/readyz`);
    return { code: response.status, body: (await response.json()) as Readiness };
  };
  /** Polls /readyz (and /healthz, whose answers are all kept) until `down` is what it names. */
  const untilDown = async (down: string[], what: string): Promise<{ code: number; body: Readiness }> => {
    let last: { code: number; body: Readiness } | undefined;
    await waitFor(async () => {
      healthChecks.push((await fetch(`${node.url}/healthz`)).status);
      last = await readyz();
      return JSON.stringify([...last.body.down].sort()) === JSON.stringify(down);
    }, { timeoutMs: 30_000, what });
    return last as { code: number; body: Readiness };
  };

  beforeAll(async () => {
    await requireServices();
    const pgPort = Number(new URL(PG_URL).port || 5432);
    proxy = new FaultProxy(pgPort);
    await proxy.start();
    redis = await ThrowawayRedis.start();
    const url = new URL(PG_URL);
    url.port = String(proxy.port);
    url.searchParams.set('schema', schema);
    node = await ServerNode.start(['--db', url.toString(), '--redis', redis.url, '--redis-prefix', runId('readyz'), '--secret', SECRET]);
  });

  afterAll(async () => {
    await node?.stop();
    await redis?.stop();
    await proxy?.close();
    dropSchema(schema);
  });

  it('answers 503 naming the store while PostgreSQL is cut off or blackholed, and 200 once it is back', async () => {
    expect(await readyz()).toEqual({ code: 200, body: { status: 'ready', down: [] } });

    proxy.cut();
    expect(await untilDown(['store'], 'store down (connections cut)')).toMatchObject({ code: 503, body: { status: 'unready', down: ['store'] } });
    proxy.heal();
    expect(await untilDown([], 'ready again after the cut')).toMatchObject({ code: 200, body: { status: 'ready' } });

    // A dead network answers nothing at all: the probe's timeout makes the verdict.
    proxy.blackhole();
    const blackholed = await untilDown(['store'], 'store down (blackholed)');
    expect(blackholed.code).toBe(503);
    expect(blackholed.body).toMatchObject({ errors: { store: expect.stringMatching(/no answer within/) as unknown } });
    proxy.heal();
    expect(await untilDown([], 'ready again after the blackhole')).toMatchObject({ code: 200 });

    expect(healthChecks.length).toBeGreaterThan(0);
    expect(healthChecks.every((code) => code === 200)).toBe(true);
    expect(node.alive).toBe(true);
  });

  it('answers 503 naming Redis while it is down, counts the publishes that failed, and 200 once it is back', async () => {
    const account = runId('ready');
    const token = forgeToken({ secret: SECRET, sub: account, nowMs: Date.now() });
    const device = await WireDevice.open({ accountId: account, deviceId: 'phone', token, urls: [node.url], start: 0 });
    try {
      await redis.stop();
      expect(await untilDown(['redis'], 'redis down')).toMatchObject({ code: 503, body: { status: 'unready', down: ['redis'] } });
      // A write while Redis is away commits, and its stream cannot be published to other processes.
      await device.push([newConversation(`${account}|1|during`)]);
      const metrics = await (await fetch(`${node.url}/metrics`)).text();
      expect(Number(/^convsync_redis_publish_failures_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);

      // Both down at once: both named.
      proxy.cut();
      expect(await untilDown(['redis', 'store'], 'both down')).toMatchObject({ code: 503 });
      proxy.heal();

      await redis.restart();
      expect(await untilDown([], 'ready again after Redis returned')).toMatchObject({ code: 200, body: { status: 'ready' } });
    } finally {
      device.close();
    }
    expect(healthChecks.every((code) => code === 200)).toBe(true);
    expect(node.alive).toBe(true);
  });
});
