/**
 * Measured figures (printed, and bounded loosely so a regression by an order of magnitude fails):
 * initial sync of 3,000 conversations on a fresh device, and propagation of an edit between two
 * devices of one account, over socket.io on this machine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './services.helpers.js';
import { startCluster, synced, type Cluster } from './integration.helpers.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe('measurements', () => {
  it('initial sync of 3,000 conversations on a fresh device', async () => {
    const current = await startCluster();
    cluster = current;
    const size = 3000;
    for (let start = 0; start < size; start += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, i) =>
        current.server.sendMessage({ from: `u${start + i}`, conversationType: 1, targetId: 'alice', text: `hello ${start + i}` })));
    }
    const started = performance.now();
    const device = await current.device('alice', { synced: false });
    await synced(device, 60_000);
    await eventually(() => device.conversationService.getTotalUnreadCount() === size, 60_000);
    const ms = performance.now() - started;
    console.info(`initial sync of ${size} conversations (memory storage, socket.io): ${ms.toFixed(0)} ms`);
    expect((await device.conversationService.getConversationList(0, 100)).conversationList).toHaveLength(100);
    expect(ms).toBeLessThan(30_000);
  }, 120_000);

  it('propagation of an edit between two devices of one account', async () => {
    cluster = await startCluster();
    const a = await cluster.device('alice');
    const b = await cluster.device('alice');
    await a.conversationService.createConversation('alice|1|bob');
    await eventually(async () => (await b.conversationService.getConversation('alice|1|bob').catch(() => null)) !== null);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const value = `v${i}`;
      const seen = new Promise<void>((resolve) => {
        const listener = (list: { serverExtension: string }[]): void => {
          if (list.some((c) => c.serverExtension === value)) {
            b.conversationService.off('onConversationChanged', listener);
            resolve();
          }
        };
        b.conversationService.on('onConversationChanged', listener);
      });
      const started = performance.now();
      await a.conversationService.updateConversation('alice|1|bob', { serverExtension: value });
      await seen;
      times.push(performance.now() - started);
    }
    console.info(`propagation device → device (socket.io): median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms over ${times.length} edits`);
    expect(median(times)).toBeLessThan(1000);
  });
});
