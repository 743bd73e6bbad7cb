/**
 * What the transaction objects of both SQL backends keep besides their connection: whether the
 * transaction is still open, whether it may write, and the hooks to run once it has committed.
 */
import { ConvSyncError, ErrorCode } from '@convsync/protocol';

export abstract class SqlTx {
  #active = true;
  readonly #writable: boolean;
  readonly #hooks: (() => void)[] = [];

  constructor(writable: boolean) {
    this.#writable = writable;
  }

  /** Refuses use after the transaction ended (a callback that outlived it), and writes in a read-only snapshot. */
  protected guard(write = false): void {
    if (!this.#active) throw new ConvSyncError(ErrorCode.INTERNAL, 'store transaction used after it ended');
    if (write && !this.#writable) throw new ConvSyncError(ErrorCode.INTERNAL, 'write in a read-only store snapshot');
  }

  afterCommit(hook: () => void): void {
    this.guard(true);
    this.#hooks.push(hook);
  }

  /** Called as the callback returns or throws, before COMMIT or ROLLBACK: from then on, any use is refused. */
  end(): void {
    this.#active = false;
  }

  /** Runs the hooks, in the order registered, right after COMMIT. */
  runCommitHooks(): void {
    for (const hook of this.#hooks) {
      try {
        hook();
      } catch {
        // A failing listener must not undo a commit that already happened.
      }
    }
  }
}
