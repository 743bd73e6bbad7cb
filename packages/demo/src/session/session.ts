/**
 * The remembered sign-in: server URL, account and its token, plus this browser profile's device id
 * (one replica per device, so two profiles of one account are two devices). Kept in localStorage so
 * the app reopens signed in — offline too, since the token is only checked when the socket connects.
 */

export interface Session {
  serverUrl: string;
  accountId: string;
  token: string;
  deviceId: string;
}

const SESSION_KEY = 'convsync.session';
const DEVICE_KEY = 'convsync.deviceId';
const SERVER_KEY = 'convsync.serverUrl';

function isSession(value: unknown): value is Session {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return ['serverUrl', 'accountId', 'token', 'deviceId'].every((key) => typeof record[key] === 'string');
}

export function loadSession(): Session | null {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null');
    return isSession(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  localStorage.setItem(SERVER_KEY, session.serverUrl);
}

/** Forgets the session and the account's cached history (the device id and server stay). */
export function clearSession(): void {
  localStorage.removeItem(SESSION_KEY);
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith('convsync.history.')) localStorage.removeItem(key);
  }
}

/** This browser profile's device id: created once, then stable (device ids allow [A-Za-z0-9_.-]). */
export function deviceId(): string {
  const stored = localStorage.getItem(DEVICE_KEY);
  if (stored !== null && /^[A-Za-z0-9_.-]{1,64}$/.test(stored)) return stored;
  const created = `web-${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  localStorage.setItem(DEVICE_KEY, created);
  return created;
}

/**
 * The server to sign in to: `?server=` in the address, the last one used, or port 3000 on the host
 * that served the demo (what `npm start` runs).
 */
export function defaultServerUrl(): string {
  const fromQuery = new URLSearchParams(location.search).get('server');
  if (fromQuery !== null && fromQuery !== '') return fromQuery;
  const remembered = localStorage.getItem(SERVER_KEY);
  if (remembered !== null && remembered !== '') return remembered;
  return `${location.protocol}//${location.hostname || '127.0.0.1'}:3000`;
}

/** Asks a server started with development sign-in for a token (`POST /dev/token`). */
export async function fetchDevToken(serverUrl: string, accountId: string): Promise<string> {
  const response = await fetch(new URL('/dev/token', serverUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accountId }),
  });
  const body: unknown = await response.json().catch(() => null);
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  if (!response.ok || typeof record.token !== 'string') {
    const reason = typeof record.desc === 'string' ? record.desc : `HTTP ${response.status}`;
    throw new Error(`The server refused the sign-in: ${reason}`);
  }
  return record.token;
}
