/**
 * Summarises a V8 CPU profile (`node --cpu-prof …` writes *.cpuprofile): self time per function
 * and per package, so "where does the time go" has an answer in a few lines.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --conditions=source --import tsx bench/run.ts --only fresh-sync
 *   node --conditions=source --import tsx bench/profile.ts /tmp/prof/*.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string): string {
  if (url === '') return '(native/idle)';
  const pnpm = /node_modules\/\.pnpm\/([^/]+)\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm?.[2] !== undefined) return pnpm[2];
  const workspace = /\/(packages\/[^/]+|bench|test)\//.exec(url);
  if (workspace?.[1] !== undefined) return workspace[1];
  if (url.startsWith('node:')) return 'node core';
  return url.replace(/^file:\/\//, '').split('/').slice(-2).join('/');
}

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex === -1 ? 30 : Number(args[topIndex + 1]);
const paths = args.filter((a) => a.endsWith('.cpuprofile'));
if (paths.length === 0 || !Number.isInteger(top)) {
  process.stderr.write('usage: bench/profile.ts <file.cpuprofile>… [--top 30]\n');
  process.exit(2);
}
// Every thread's profile (tsx runs a loader thread) adds up into one picture.
const samples: { node: ProfileNode; us: number }[] = [];
for (const path of paths) {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  for (const [id, us] of selfTime) {
    const node = byId.get(id);
    if (node !== undefined) samples.push({ node, us });
  }
}
const total = samples.reduce((sum, s) => sum + s.us, 0);
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const { node, us } of samples) {
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'}  ${url.replace(/^.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  const pkg = packageOf(url);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
}
const print = (title: string, map: Map<string, number>, n: number): void => {
  process.stdout.write(`\n${title}\n`);
  for (const [key, us] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    process.stdout.write(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}\n`);
  }
};
process.stdout.write(`total sampled: ${(total / 1000).toFixed(0)} ms\n`);
print('self time by package', byPackage, 15);
print('self time by function', byFunction, top);
