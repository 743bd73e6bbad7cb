/**
 * Per-process figures for docs/SCALING.md: CLI server processes on PostgreSQL + Redis, driven by
 * protocol-level devices from this process. Measures, for 1 and for 3 processes:
 * - connections: sockets one process holds, connect rate, server RSS per connection;
 * - messages/s: P2P `message:send` acknowledged per second (each streamed to the receiver's device
 *   on another process), and server CPU-ms per message;
 * - pull throughput: a fresh device pulling an account of 5,000 conversations;
 * - a team message to 1,000 members: commit latency.
 *
 * Usage: node --conditions=source --import tsx test/scale-out/bench.ts [--quick] [--json out.json]
 * The load generator shares the machine's cores with the servers and PostgreSQL: the figures are
 * a floor for a dedicated machine, and the CPU-ms per operation is the number to extrapolate from.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { ConversationType } from '@convsync/protocol';
import { Cluster, requireServices, runId, type ServerNode } from './cluster.js';
import { WireDevice, newConversation } from './device.js';

const quick = process.argv.includes('--quick');
const jsonIndex = process.argv.indexOf('--json');
const jsonOut = jsonIndex >= 0 ? process.argv[jsonIndex + 1] : undefined;
const CLOCK_TICK_MS = 10; // USER_HZ = 100 on Linux

function cpuMs(node: ServerNode): number {
  const stat = readFileSync(`/proc/${String(node.child.pid)}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

function rssMb(node: ServerNode): number {
  const status = readFileSync(`/proc/${String(node.child.pid)}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const round = (n: number, digits = 0): number => Number(n.toFixed(digits));

async function pool<T>(items: readonly T[], width: number, work: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i] as T, i);
    }
  }));
}

async function measure(processes: number): Promise<Record<string, number>> {
  const cluster = await new Cluster({ processes, pool: 10 }).start();
  const tag = runId('b').replace(/^b_/, '');
  const devices: WireDevice[] = [];
  try {
    const result: Record<string, number> = { processes };

    // Connections: all on process 0.
    const connections = quick ? 200 : 1000;
    const node0 = cluster.nodes[0] as ServerNode;
    const rssBefore = rssMb(node0);
    const connectCpu = cpuMs(node0);
    let started = performance.now();
    const accounts = Array.from({ length: connections }, (_, i) => `c${i}_${tag}`);
    await pool(accounts, 50, async (account) => {
      devices.push(await WireDevice.open({ accountId: account, deviceId: 'd', token: await cluster.token(account), urls: cluster.urls, start: 0 }));
    });
    const connectSeconds = (performance.now() - started) / 1000;
    result.connections = connections;
    result.connectsPerSecond = round(connections / connectSeconds);
    result.rssMbAtConnections = round(rssMb(node0));
    result.kbPerConnection = round(((rssMb(node0) - rssBefore) * 1024) / connections, 1);
    result.serverCpuMsPerConnect = round((cpuMs(node0) - connectCpu) / connections, 2);
    for (const d of devices.splice(0)) d.close();

    // Messages: senders spread over the processes, each receiver's device on the next process.
    const pairs = quick ? 20 : 60;
    const perSender = quick ? 25 : 60;
    const senders: WireDevice[] = [];
    const receivers: WireDevice[] = [];
    for (let i = 0; i < pairs; i++) {
      const from = `s${i}_${tag}`;
      const to = `r${i}_${tag}`;
      senders.push(await WireDevice.open({ accountId: from, deviceId: 'd', token: await cluster.token(from), urls: cluster.urls, start: i % processes }));
      receivers.push(await WireDevice.open({ accountId: to, deviceId: 'd', token: await cluster.token(to), urls: cluster.urls, start: (i + 1) % processes }));
    }
    devices.push(...senders, ...receivers);
    const cpuBefore = cluster.nodes.map(cpuMs);
    started = performance.now();
    await Promise.all(senders.map(async (sender, i) => {
      for (let m = 0; m < perSender; m++) await sender.send(`${sender.accountId}|1|r${i}_${tag}`, `message ${m}`);
    }));
    const ackedSeconds = (performance.now() - started) / 1000;
    await Promise.all(receivers.map((receiver, i) => receiver.waitFor(
      () => receiver.conversations.get(`${receiver.accountId}|1|s${i}_${tag}`)?.unreadCount === perSender, 60_000, 'all messages')));
    const deliveredSeconds = (performance.now() - started) / 1000;
    const cpuSpent = cluster.nodes.map((node, i) => cpuMs(node) - (cpuBefore[i] ?? 0)).reduce((a, b) => a + b, 0);
    const messages = pairs * perSender;
    result.messages = messages;
    result.messagesPerSecond = round(messages / ackedSeconds);
    result.messagesPerSecondPerProcess = round(messages / ackedSeconds / processes);
    result.deliveredPerSecond = round(messages / deliveredSeconds);
    result.serverCpuMsPerMessage = round(cpuSpent / messages, 2);
    for (const d of devices.splice(0)) d.close();

    // Pull: one account with many conversations, pulled from 0 by a fresh device.
    const size = quick ? 1000 : 5000;
    const owner = `p_${tag}`;
    const writer = await WireDevice.open({ accountId: owner, deviceId: 'w', token: await cluster.token(owner), urls: cluster.urls });
    devices.push(writer);
    for (let i = 0; i < size; i += 250) {
      await writer.push(Array.from({ length: Math.min(250, size - i) }, (_, j) => newConversation(`${owner}|1|peer${i + j}`)));
    }
    writer.close();
    const pullCpu = cpuMs(node0);
    started = performance.now();
    const reader = await WireDevice.open({ accountId: owner, deviceId: 'r', token: await cluster.token(owner), urls: cluster.urls, start: 0 });
    devices.push(reader);
    const pullSeconds = (performance.now() - started) / 1000;
    if (reader.conversations.size !== size) throw new Error(`pulled ${reader.conversations.size} of ${size}`);
    const bytes = JSON.stringify([...reader.conversations.values()]).length;
    result.pullDocuments = size;
    result.pullDocsPerSecond = round(size / pullSeconds);
    result.pullMBPerSecond = round(bytes / 1e6 / pullSeconds, 1);
    result.serverCpuMsPer1000Pulled = round(((cpuMs(node0) - pullCpu) / size) * 1000, 1);

    // A team message to many members (no devices: the commit and the fan-out to rooms).
    const teamSize = quick ? 200 : 1000;
    const team = `t_${tag}`;
    const members = Array.from({ length: teamSize }, (_, i) => `tm${i}_${tag}`);
    await cluster.backend.createTeam({ teamId: team, name: 'bench', memberIds: members });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await cluster.backend.sendMessage({ from: members[i] as string, conversationType: ConversationType.TEAM, targetId: team, text: `hello ${i}` });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    result.teamMembers = teamSize;
    result.teamMessageMsMedian = round(times[2] ?? 0, 1);
    return result;
  } finally {
    for (const d of devices) d.close();
    await cluster.close();
  }
}

await requireServices();
const results = [];
for (const processes of [1, 3]) {
  process.stderr.write(`measuring ${processes} process(es)…\n`);
  results.push(await measure(processes));
}
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`;
process.stdout.write(`machine: ${machine}, Node ${process.version}${quick ? ' (quick)' : ''}\n`);
const keys = Object.keys(results[0] ?? {});
process.stdout.write(`| figure | ${results.map((r) => `${String(r.processes)} process(es)`).join(' | ')} |\n|---|${results.map(() => '---').join('|')}|\n`);
for (const key of keys) process.stdout.write(`| ${key} | ${results.map((r) => String(r[key])).join(' | ')} |\n`);
if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify({ machine, node: process.version, quick, results }, null, 2));
process.exit(0);
