import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, Session } from './api';
import { useSubscription } from './hooks';
import { ChatStore } from './store';
import { ChatScreen } from './chat';
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

function AuthScreen() {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'login') await session.login(username, password);
      else await session.register(username, password, displayName.trim() || undefined);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, undefined));
    } finally {
      setBusy(false);
    }
  };
  const fieldError = (name: string) => {
    const msg = error?.field(name);
    return msg ? (
      <span class="field-error" data-testid={`error-${name}`}>
        {msg}
      </span>
    ) : null;
  };
  const general = error && !error.body?.details?.length ? error.message : null;

  return (
    <main class="auth">
      <form class="card" onSubmit={submit} data-testid="auth-form">
        <h1>chat</h1>
        <div class="tabs" role="tablist">
          <button
            type="button"
            role="tab"
            aria-selected={mode === 'login'}
            class={mode === 'login' ? 'active' : ''}
            onClick={() => setMode('login')}
            data-testid="tab-login"
          >
            Log in
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={mode === 'register'}
            class={mode === 'register' ? 'active' : ''}
            onClick={() => setMode('register')}
            data-testid="tab-register"
          >
            Create account
          </button>
        </div>
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} data-testid="username" required />
          {fieldError('username')}
        </label>
        {mode === 'register' && (
          <label>
            Display name <span class="muted">(optional)</span>
            <input name="displayName" value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} data-testid="displayName" />
            {fieldError('displayName')}
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            data-testid="password"
            required
          />
          {fieldError('password')}
        </label>
        {general && (
          <p class="form-error" role="alert" data-testid="auth-error">
            {general}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy} data-testid="auth-submit">
          {mode === 'login' ? 'Log in' : 'Create account'}
        </button>
      </form>
    </main>
  );
}

render(<App />, document.getElementById('app')!);
