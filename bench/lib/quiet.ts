/**
 * Waiting for a quiet machine before a timed run. On a 2-CPU machine the work a previous step left
 * behind — the kernel tearing down a closed browser's address space, a server's collector after a
 * large answer — takes a whole CPU for up to a second, and a run that starts inside it measures
 * that instead of itself.
 */
import os from 'node:os';

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

export interface QuietOptions {
  /** The idle share the machine must reach over one window (default 0.9). */
  idleShare?: number;
  windowMs?: number;
  /** Gives up after this long (a machine busy with something else) and says so. */
  maxMs?: number;
}

/** Resolves once one `windowMs` window was at least `idleShare` idle; false if it gave up. */
export async function untilQuiet(options: QuietOptions = {}): Promise<boolean> {
  const { idleShare = 0.9, windowMs = 250, maxMs = 15_000 } = options;
  const until = Date.now() + maxMs;
  let last = cpuTimes();
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const now = cpuTimes();
    const total = now.total - last.total;
    if (total > 0 && (now.idle - last.idle) / total >= idleShare) return true;
    last = now;
  }
  return false;
}
