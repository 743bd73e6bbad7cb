/**
 * Scenario 6: server memory per idle connected device, and the server's RSS at 1,000 devices. The
 * server runs in its own process (SQLite in memory); a crowd process connects protocol-level
 * devices (two per account, authenticated like the engine) that then stay idle. RSS is read from
 * /proc/<pid>/status after two forced collections in the server.
 */
import { startCrowd } from '../lib/crowd.js';
import { defineScenario, type BaseRow, type Mode } from '../lib/scenario.js';
import { startServerProcess, type ServerProcess } from '../lib/server-process.js';
import { figure, formatFigure, formatNumber, type Figure } from '../lib/stats.js';

interface Row extends BaseRow {
  devices: number;
  serverRssMiB: Figure;
  /** (RSS at this count − RSS with none) / devices. */
  perDeviceKiB: Figure | null;
}

const PLAN: Record<Mode, { runs: number; steps: number[] }> = {
  smoke: { runs: 1, steps: [50] },
  quick: { runs: 3, steps: [100, 1_000] },
  full: { runs: 3, steps: [100, 1_000, 2_000] },
};

const MiB = 2 ** 20;

async function settledRss(server: ServerProcess): Promise<number> {
  await server.gc();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await server.gc();
  return server.rss();
}

export default defineScenario<Row>({
  name: 'server-memory',
  title: '6. Server memory per idle device',
  target: 'report the memory per idle connected device and the RSS at 1,000 devices',
  method: [
    'The server runs in its own process (`startServer`, SQLite in memory). A crowd process connects protocol-level',
    'socket.io devices (token, protocol version and device id in the handshake, two devices per account), which then',
    'stay idle. After a warm-up (10 devices connected and dropped), the RSS with no device is the baseline; more',
    'devices are connected step by step and the RSS (VmRSS of /proc/<pid>/status, after two forced collections) is',
    'read at each step. Per device = (RSS − baseline) / devices. A fresh server per run.',
  ].join(' '),
  async run({ mode, progress }) {
    const plan = PLAN[mode];
    const max = Math.max(...plan.steps);
    const samples = new Map<number, { rss: number[]; perDevice: number[] }>();
    const record = (devices: number, rss: number, perDevice: number | null): void => {
      const entry = samples.get(devices) ?? { rss: [], perDevice: [] };
      entry.rss.push(rss);
      if (perDevice !== null) entry.perDevice.push(perDevice);
      samples.set(devices, entry);
    };
    progress.start('server memory', plan.runs * (plan.steps.length + 1));
    for (let run = 0; run < plan.runs; run++) {
      const server = await startServerProcess();
      const crowd = await startCrowd();
      try {
        const accounts = Array.from({ length: Math.ceil(max / 2) }, (_, i) => `member${i}`);
        const accountTokens = await server.issueTokens(accounts);
        const tokens = Array.from({ length: max }, (_, i) => accountTokens[i % accounts.length] as string);
        await crowd.connect(server.url, tokens.slice(0, 10));
        await crowd.disconnectAll();
        const baseline = await settledRss(server);
        record(0, baseline, null);
        progress.tick(`baseline ${Math.round(baseline / MiB)} MiB`);
        let connected = 0;
        for (const step of plan.steps) {
          connected = await crowd.connect(server.url, tokens.slice(connected, step));
          if (connected !== step) throw new Error(`connected ${connected} devices, expected ${step}`);
          const rss = await settledRss(server);
          record(step, rss, (rss - baseline) / step);
          progress.tick(`${step} devices: ${Math.round(rss / MiB)} MiB`);
        }
      } finally {
        await crowd.close();
        await server.close();
      }
    }
    return [...samples.entries()].map(([devices, s]) => ({
      mode,
      devices,
      serverRssMiB: figure(s.rss.map((b) => b / MiB)),
      perDeviceKiB: s.perDevice.length === 0 ? null : figure(s.perDevice.map((b) => b / 1024)),
    }));
  },
  columns: [
    { header: 'idle devices', cell: (r) => r.devices.toLocaleString('en-US') },
    { header: 'server RSS MiB', cell: (r) => formatFigure(r.serverRssMiB, '', 1) },
    { header: 'per device KiB', cell: (r) => (r.perDeviceKiB === null ? 'baseline' : formatFigure(r.perDeviceKiB, '', 1)) },
  ],
  verdict(rows) {
    const at1000 = rows.find((r) => r.devices === 1_000) ?? rows[rows.length - 1];
    if (at1000?.perDeviceKiB === null || at1000 === undefined) return 'not measured';
    return `${formatNumber((at1000.perDeviceKiB).median, 1)} KiB per idle device; server RSS ${formatNumber(at1000.serverRssMiB.median, 1)} MiB at ${at1000.devices.toLocaleString('en-US')} devices (reported, no pass/fail target)`;
  },
});
