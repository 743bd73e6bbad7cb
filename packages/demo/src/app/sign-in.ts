/**
 * Sign-in with the server's development tokens: pick a server and an account. The device id is
 * this browser profile's own, so every profile is a separate device with its own replica.
 */
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { defaultServerUrl, deviceId, fetchDevToken, type Session } from '../session/session.js';

const SUGGESTED = ['alice', 'bob', 'carol', 'dave'];

export function SignIn(props: { onSignedIn: (session: Session) => void }) {
  const [serverUrl, setServerUrl] = useState(defaultServerUrl);
  const [accountId, setAccountId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const signIn = async (account: string): Promise<void> => {
    const id = account.trim();
    if (id === '') return;
    setBusy(true);
    setError(null);
    try {
      const token = await fetchDevToken(serverUrl, id);
      props.onSignedIn({ serverUrl, accountId: id, token, deviceId: deviceId() });
    } catch (failure) {
      setError(failure instanceof TypeError ? `Cannot reach ${serverUrl}. Is the server running (npm start)?` : String(failure instanceof Error ? failure.message : failure));
      setBusy(false);
    }
  };

  return html`
    <main class="sign-in">
      <form class="card" aria-labelledby="sign-in-title" onSubmit=${(event: Event) => { event.preventDefault(); void signIn(accountId); }}>
        <img src="./icon.svg" alt="" width="64" height="64" />
        <h1 id="sign-in-title">ConvSync Inbox</h1>
        <p class="hint">An offline-first chat inbox. This browser becomes one device of your account, with its own replica.</p>
        <label for="account-input">Account</label>
        <input id="account-input" name="account" autocomplete="username" required value=${accountId} placeholder="e.g. alice"
          onInput=${(event: Event) => setAccountId((event.currentTarget as HTMLInputElement).value)} />
        <div class="suggested" aria-label="Demo accounts">
          ${SUGGESTED.map((name) => html`<button type="button" class="chip" key=${name} disabled=${busy} onClick=${() => { setAccountId(name); void signIn(name); }}>${name}</button>`)}
        </div>
        <label for="server-input">Server</label>
        <input id="server-input" name="server" type="url" required value=${serverUrl}
          onInput=${(event: Event) => setServerUrl((event.currentTarget as HTMLInputElement).value)} />
        ${error !== null ? html`<p class="hint error" role="alert">${error}</p>` : null}
        <button type="submit" class="button primary wide" disabled=${busy || accountId.trim() === ''}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>`;
}
