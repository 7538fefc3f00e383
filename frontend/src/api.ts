import type { AuthResult, ErrorBody, User } from '@contract/events';

const STORAGE_KEY = 'chat.session';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | undefined,
  ) {
    super(body?.message ?? `Request failed (${status})`);
  }

  /** The message for one field, from the API's `details`. */
  field(name: string): string | undefined {
    return this.body?.details?.find((d) => d.field === name)?.message;
  }
}

type Listener = () => void;

/**
 * The session: the refresh token survives reloads (localStorage); the access token lives in
 * memory and is refreshed a minute before it expires. Refreshes are single-flight because
 * the server rotates the refresh token and treats a replay as theft.
 */
export class Session {
  user: User | null = null;
  accessToken: string | null = null;
  private refreshToken: string | null = null;
  private timer?: ReturnType<typeof setTimeout>;
  private inFlight?: Promise<boolean>;
  private readonly listeners = new Set<Listener>();

  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> = localStorage) {
    try {
      const saved = JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null') as { refreshToken: string; user: User } | null;
      if (saved?.refreshToken) {
        this.refreshToken = saved.refreshToken;
        this.user = saved.user;
      }
    } catch {
      storage.removeItem(STORAGE_KEY);
    }
  }

  get hasRefreshToken() {
    return this.refreshToken !== null;
  }

  onChange(fn: Listener) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async register(username: string, password: string, displayName?: string) {
    this.adopt(await request<AuthResult>('POST', '/api/auth/register', { body: { username, password, ...(displayName ? { displayName } : {}) } }));
  }

  async login(username: string, password: string) {
    this.adopt(await request<AuthResult>('POST', '/api/auth/login', { body: { username, password } }));
  }

  async logout() {
    const token = this.refreshToken;
    this.clear();
    if (token) await request('POST', '/api/auth/logout', { body: { refreshToken: token } }).catch(() => undefined);
  }

  /** Gets a new token pair; false (and logged out) when the refresh token is no longer valid. */
  refresh(): Promise<boolean> {
    this.inFlight ??= (async () => {
      if (!this.refreshToken) return false;
      try {
        this.adopt(await request<AuthResult>('POST', '/api/auth/refresh', { body: { refreshToken: this.refreshToken } }));
        return true;
      } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 400)) this.clear();
        return false;
      }
    })().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** An authenticated call: refreshes and retries once on 401. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.accessToken && !(await this.refresh())) throw new ApiError(401, undefined);
    try {
      return await request<T>(method, path, { body, token: this.accessToken! });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401 || !(await this.refresh())) throw e;
      return request<T>(method, path, { body, token: this.accessToken! });
    }
  }

  private adopt(r: AuthResult) {
    this.user = r.user;
    this.accessToken = r.accessToken;
    this.refreshToken = r.refreshToken;
    this.storage.setItem(STORAGE_KEY, JSON.stringify({ refreshToken: r.refreshToken, user: r.user }));
    clearTimeout(this.timer);
    const refreshIn = Math.max(5, r.expiresIn - 60) * 1000;
    this.timer = setTimeout(() => void this.refresh(), refreshIn);
    this.emit();
  }

  private clear() {
    clearTimeout(this.timer);
    this.user = null;
    this.accessToken = null;
    this.refreshToken = null;
    this.storage.removeItem(STORAGE_KEY);
    this.emit();
  }

  private emit() {
    for (const fn of this.listeners) fn();
  }
}

export async function request<T = unknown>(method: string, path: string, opts: { body?: unknown; token?: string } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  } catch {
    throw new ApiError(0, { statusCode: 0, error: 'Network Error', message: 'The server cannot be reached' });
  }
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) throw new ApiError(res.status, data as ErrorBody | undefined);
  return data as T;
}
