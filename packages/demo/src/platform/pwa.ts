/**
 * Installable-app plumbing: the service worker (precached shell, so the inbox opens offline) and
 * persistent storage (so the browser does not evict the replica under storage pressure).
 */
import { registerSW } from 'virtual:pwa-register';

export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  registerSW({ immediate: true, onRegisterError: (error: unknown) => console.warn('service worker', error) });
}

/** Asks to keep IndexedDB through storage pressure; resolves whether the browser agreed. */
export async function requestPersistentStorage(): Promise<boolean> {
  try {
    if (navigator.storage?.persisted === undefined) return false;
    if (await navigator.storage.persisted()) return true;
    return await navigator.storage.persist();
  } catch {
    return false;
  }
}
