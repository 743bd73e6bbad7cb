/**
 * What the convergence runs share: one server child process (restarted after every kill, on the
 * same SQLite file and port), the fault proxy in front of it, and the teams each run uses. Runs
 * never share accounts (every run has its own prefix), so one server can carry a whole soak.
 */
import { FaultProxy } from './proxy.js';
import { ServerProcess, type CrashFault } from './server-process.js';

/** Teams are created while the server is down; this many runs are provisioned per restart. */
const TEAMS_AHEAD = 200;

export class Cluster {
  readonly server = new ServerProcess();
  proxy: FaultProxy | undefined;
  kills = 0;
  crashPointsArmed = 0;
  crashPointsFired = 0;
  #nextRun = 0;
  #teamsUpTo = 0;
  #armed = false;

  async start(): Promise<void> {
    await this.#provision();
    await this.server.start();
    this.proxy = new FaultProxy(this.server.port);
    await this.proxy.start();
  }

  get url(): string {
    if (this.proxy === undefined) throw new Error('cluster not started');
    return this.proxy.url;
  }

  /** A fresh run id whose accounts and team exist on the server. */
  async newRun(): Promise<number> {
    const run = this.#nextRun++;
    if (run >= this.#teamsUpTo) {
      await this.server.kill();
      await this.#provision();
      await this.server.start();
    }
    return run;
  }

  /** SIGKILL, left down until `restart`. */
  async kill(): Promise<void> {
    if (!this.server.running) return;
    this.kills++;
    await this.server.kill();
  }

  async restart(faults: readonly CrashFault[] = []): Promise<void> {
    if (this.server.running) return;
    this.#armed = faults.length > 0;
    if (this.#armed) this.crashPointsArmed++;
    const exitsBefore = this.server.exits.length;
    await this.server.start({ faults });
    void this.server.whenExited().then(() => {
      const exit = this.server.exits[exitsBefore];
      if (this.#armed && exit?.signal === 'SIGKILL' && exit.expected) this.crashPointsFired++;
    });
  }

  /** Restarts the server with a crash armed at one point of a future request. */
  async arm(fault: CrashFault): Promise<void> {
    await this.kill();
    await this.restart([fault]);
  }

  /** The network heals and the server is up with no crash armed. */
  async heal(): Promise<void> {
    this.proxy?.heal();
    if (this.server.running && this.#armed) await this.server.kill();
    this.#armed = false;
    if (!this.server.running) await this.restart();
  }

  async close(): Promise<void> {
    await this.proxy?.close();
    await this.server.dispose();
  }

  async #provision(): Promise<void> {
    const from = this.#teamsUpTo;
    this.#teamsUpTo = Math.max(this.#nextRun, from) + TEAMS_AHEAD;
    await this.server.seed(async (s) => {
      for (let run = from; run < this.#teamsUpTo; run++) {
        await s.createTeam({ teamId: teamOf(run), name: `team ${run}`, memberIds: [...[0, 1, 2].map((a) => accountOf(run, a)), peerOf(run)] });
      }
    });
  }
}

export const accountOf = (run: number, a: number): string => `r${run}a${a}`;
export const peerOf = (run: number): string => `r${run}p`;
export const teamOf = (run: number): string => `r${run}t`;
