/**
 * The "pause sync" switch of this browser profile. Every tab shares one connection (the engine's
 * tabs elect one to talk to the server), so the switch is the profile's too: kept in localStorage
 * and followed through the `storage` event, which fires in every other tab of the profile.
 */
import { useEffect, useState } from 'preact/hooks';

const PAUSED_KEY = 'convsync.paused';

function readPaused(): boolean {
  try {
    return localStorage.getItem(PAUSED_KEY) === 'true';
  } catch {
    return false;
  }
}

/** The profile's paused flag and its setter (shared by every tab). */
export function useSharedPaused(): [boolean, (paused: boolean) => void] {
  const [paused, setPaused] = useState(readPaused);
  useEffect(() => {
    const onStorage = (event: StorageEvent): void => {
      if (event.key === PAUSED_KEY) setPaused(event.newValue === 'true');
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);
  const set = (next: boolean): void => {
    setPaused(next);
    try {
      localStorage.setItem(PAUSED_KEY, String(next));
    } catch {
      // Storage refused (private mode quota): the switch stays this tab's.
    }
  };
  return [paused, set];
}
