/**
 * A store that reports its failures (for `convsync_store_errors_total`): a call that rejects with
 * anything but a domain refusal — a database error, a lost connection, a closed store. A refusal
 * (`ConvSyncError` other than 500) thrown by the domain inside a transaction is an answer, not a
 * store failure.
 */
import { ConvSyncError, ErrorCode } from '@convsync/protocol';
import type { Store } from './store.js';

export type StoreOperation = 'transaction' | 'read' | 'ping';

function isRefusal(error: unknown): boolean {
  return error instanceof ConvSyncError && error.code !== ErrorCode.INTERNAL;
}

export function observedStore(store: Store, onError: (operation: StoreOperation, error: unknown) => void): Store {
  const observe = <T>(operation: StoreOperation, promise: Promise<T>): Promise<T> =>
    promise.catch((error: unknown) => {
      if (!isRefusal(error)) onError(operation, error);
      throw error;
    });
  return {
    transaction: (fn) => observe('transaction', store.transaction(fn)),
    read: (fn) => observe('read', store.read(fn)),
    ping: () => observe('ping', store.ping()),
    close: () => store.close(),
  };
}
