/**
 * The root: the sign-in screen, or the inbox over the device's replica. The engine opens from the
 * remembered session without a network (the replica is local), so a reload offline lands straight
 * in the inbox. An expired development token is renewed once the server answers again.
 */
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { SignIn } from './sign-in.js';
import { Inbox } from '../inbox/inbox.js';
import { requestPersistentStorage } from '../platform/pwa.js';
import { openEngine, type Engine } from '../session/engine.js';
import { clearSession, fetchDevToken, loadSession, saveSession, type Session } from '../session/session.js';

const AUTH_FAILED = 302;

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [engine, setEngine] = useState<Engine | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  useEffect(() => {
    if (session === null) return undefined;
    let cancelled = false;
    let opened: Engine | null = null;
    setFailure(null);
    openEngine(session).then(
      (created) => {
        if (cancelled) {
          void created.close();
          return;
        }
        opened = created;
        created.conversationService.on('onSyncFailed', (error) => {
          if (error.code !== AUTH_FAILED) return;
          fetchDevToken(session.serverUrl, session.accountId).then(
            (token) => { if (!cancelled) { const renewed = { ...session, token }; saveSession(renewed); setSession(renewed); } },
            () => setFailure('The server refused this session. Sign out and sign in again.'),
          );
        });
        setEngine(created);
        void requestPersistentStorage();
      },
      (error: unknown) => { if (!cancelled) setFailure(error instanceof Error ? error.message : String(error)); },
    );
    return () => {
      cancelled = true;
      setEngine(null);
      void opened?.close();
    };
  }, [session]);

  const signOut = (): void => {
    clearSession();
    setSession(null);
  };

  if (session === null) {
    return html`<${SignIn} onSignedIn=${(next: Session) => { saveSession(next); setSession(next); }} />`;
  }
  if (failure !== null) {
    return html`<main class="sign-in"><div class="card" role="alert"><h1>Cannot open the inbox</h1><p>${failure}</p>
      <button type="button" class="button primary" onClick=${signOut}>Sign out</button></div></main>`;
  }
  if (engine === null) return html`<main class="sign-in"><p class="hint" role="status">Opening your replica…</p></main>`;
  return html`<${Inbox} engine=${engine} session=${session} onSignOut=${signOut} />`;
}
