import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, Session } from './api';
import { useSubscription } from './hooks';
import { ChatStore } from './store';
import { ChatScreen } from './chat';
import { checkField, plainRequestError, plainServerProblem } from './validation';
import './styles.css';

const session = new Session();

function App() {
  useSubscription(session);
  const [booting, setBooting] = useState(session.mayHaveCookie);
  const [store, setStore] = useState<ChatStore | null>(null);

  useEffect(() => {
    if (booting) void session.refresh().finally(() => setBooting(false));
  }, []);

  useEffect(() => {
    if (!session.user || !session.accessToken) return;
    const s = new ChatStore(session);
    setStore(s);
    s.start().catch((e) => console.error(e));
    return () => s.stop();
  }, [session.user?.id, Boolean(session.accessToken)]);

  if (booting) return <div class="center muted">Loading…</div>;
  if (!session.user || !session.accessToken) return <AuthScreen />;
  if (!store) return <div class="center muted">Connecting…</div>;
  return <ChatScreen store={store} />;
}

type AuthField = 'username' | 'password' | 'displayName';

function AuthScreen() {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [values, setValues] = useState<Record<AuthField, string>>({ username: '', password: '', displayName: '' });
  /** Fields the user has left (or tried to submit): only those show their problems. */
  const [touched, setTouched] = useState<Set<AuthField>>(new Set());
  const [server, setServer] = useState<{ fields: Partial<Record<AuthField, string>>; general: string | null }>({ fields: {}, general: null });
  const [busy, setBusy] = useState(false);
  const fields: AuthField[] = mode === 'login' ? ['username', 'password'] : ['username', 'displayName', 'password'];
  const problem = (f: AuthField) => server.fields[f] ?? (touched.has(f) ? checkField(f, values[f], mode) : null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setTouched(new Set(fields));
    setServer({ fields: {}, general: null });
    if (fields.some((f) => checkField(f, values[f], mode))) return;
    setBusy(true);
    try {
      if (mode === 'login') await session.login(values.username.trim(), values.password);
      else await session.register(values.username.trim(), values.password, values.displayName.trim() || undefined);
    } catch (err) {
      setServer(serverProblems(err));
    } finally {
      setBusy(false);
    }
  };
  const set = (f: AuthField, v: string) => {
    setValues({ ...values, [f]: v });
    if (server.fields[f]) setServer({ ...server, fields: { ...server.fields, [f]: undefined } });
  };
  const input = (f: AuthField, label: string, extra: Record<string, unknown>) => {
    const p = problem(f);
    return (
      <div class="field">
        <label for={`auth-${f}`}>
          {label}
          {f === 'displayName' && <span class="muted"> (optional)</span>}
        </label>
        <input
          id={`auth-${f}`}
          name={f}
          value={values[f]}
          onInput={(e) => set(f, e.currentTarget.value)}
          onBlur={() => values[f] && setTouched(new Set([...touched, f]))}
          aria-invalid={p ? true : undefined}
          aria-describedby={p ? `auth-${f}-error` : f === 'password' && mode === 'register' ? 'auth-password-hint' : undefined}
          data-testid={f}
          {...extra}
        />
        {p ? (
          <span class="field-error" id={`auth-${f}-error`} data-testid={`error-${f}`}>
            {p}
          </span>
        ) : (
          f === 'password' &&
          mode === 'register' && (
            <span class="muted small" id="auth-password-hint">
              At least 8 characters.
            </span>
          )
        )}
      </div>
    );
  };
  const switchTo = (m: 'login' | 'register') => {
    setMode(m);
    setTouched(new Set());
    setServer({ fields: {}, general: null });
  };

  return (
    <main class="auth">
      <form class="card" onSubmit={submit} noValidate data-testid="auth-form">
        <h1>Chat</h1>
        <div class="tabs" role="tablist" aria-label="Log in or create an account">
          <button
            type="button"
            role="tab"
            aria-selected={mode === 'login'}
            class={mode === 'login' ? 'active' : ''}
            onClick={() => switchTo('login')}
            data-testid="tab-login"
          >
            Log in
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={mode === 'register'}
            class={mode === 'register' ? 'active' : ''}
            onClick={() => switchTo('register')}
            data-testid="tab-register"
          >
            Create account
          </button>
        </div>
        {input('username', 'Username', { autoComplete: 'username' })}
        {mode === 'register' && input('displayName', 'Display name', { autoComplete: 'nickname' })}
        {input('password', 'Password', { type: 'password', autoComplete: mode === 'login' ? 'current-password' : 'new-password' })}
        {server.general && (
          <p class="form-error" role="alert" data-testid="auth-error">
            {server.general}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy} data-testid="auth-submit">
          {mode === 'login' ? 'Log in' : 'Create account'}
        </button>
      </form>
    </main>
  );
}

/** A failed login or register in plain words: per field where the server named one. */
function serverProblems(err: unknown): { fields: Partial<Record<AuthField, string>>; general: string | null } {
  if (!(err instanceof ApiError)) return { fields: {}, general: plainRequestError(0, undefined) };
  if (err.status === 409) return { fields: { username: 'That username is already taken. Try another one.' }, general: null };
  if (err.status === 401) return { fields: {}, general: 'Wrong username or password.' };
  const fields: Partial<Record<AuthField, string>> = {};
  for (const d of err.body?.details ?? [])
    if (d.field === 'username' || d.field === 'password' || d.field === 'displayName') fields[d.field] ??= plainServerProblem(d.field, d.message);
  return { fields, general: Object.keys(fields).length ? null : plainRequestError(err.status, err.body?.message) };
}

render(<App />, document.getElementById('app')!);
