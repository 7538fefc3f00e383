import type { BrowserAuthResult, ErrorBody, User } from '@contract/events';

/** A hint (no token, no user data) that a session cookie may exist, so a first visit skips the refresh call. */
const HINT_KEY = 'chat.signedIn';
/** Asks the server to keep the refresh token in its HttpOnly cookie, out of reach of scripts. */
const COOKIE_MODE = { 'x-chat-session': 'cookie' };

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

/** An upload the user cancelled. */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

type Listener = () => void;

/**
 * The session: the refresh token lives in an HttpOnly cookie that scripts cannot read (the
 * server sets it when asked with `X-Chat-Session: cookie`); the access token lives in memory
 * only and is refreshed a minute before it expires, and after a reload. Refreshes are
 * single-flight because the server rotates the refresh token and treats a replay as theft.
 */
export class Session {
  user: User | null = null;
  accessToken: string | null = null;
  private timer?: ReturnType<typeof setTimeout>;
  private inFlight?: Promise<boolean>;
  private readonly listeners = new Set<Listener>();

  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> = localStorage) {}

  /** Whether a reload should try the cookie (the page was signed in before). */
  get mayHaveCookie() {
    return this.storage.getItem(HINT_KEY) === '1';
  }

  onChange(fn: Listener) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async register(username: string, password: string, displayName?: string) {
    const body = { username, password, ...(displayName ? { displayName } : {}) };
    this.adopt(await request<BrowserAuthResult>('POST', '/api/auth/register', { body, headers: COOKIE_MODE }));
  }

  async login(username: string, password: string) {
    this.adopt(await request<BrowserAuthResult>('POST', '/api/auth/login', { body: { username, password }, headers: COOKIE_MODE }));
  }

  async logout() {
    this.clear();
    await request('POST', '/api/auth/logout', { headers: COOKIE_MODE }).catch(() => undefined);
  }

  /** Gets a new access token (the cookie rotates too); false (and logged out) when the session is over. */
  refresh(): Promise<boolean> {
    this.inFlight ??= (async () => {
      try {
        // One refresh at a time across tabs too: two tabs presenting the same cookie at once
        // would look like a replay and end the session.
        const call = () => request<BrowserAuthResult>('POST', '/api/auth/refresh', { headers: COOKIE_MODE });
        this.adopt(await (typeof navigator !== 'undefined' && navigator.locks ? navigator.locks.request('chat.refresh', call) : call()));
        return true;
      } catch (e) {
        if (e instanceof ApiError && (e.status === 401 || e.status === 400)) this.clear();
        return false;
      }
    })().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** An authenticated call: refreshes and retries once on 401. */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.withToken(() => request<T>(method, path, { body, token: this.accessToken! }));
  }

  /**
   * Runs `attempt` with an access token (refreshed first when there is none); on a 401 the token
   * is refreshed and `attempt` runs once more (`again` true), unless `mayRetry` says no.
   */
  private async withToken<T>(attempt: (again: boolean) => Promise<T>, mayRetry: () => boolean = () => true): Promise<T> {
    if (!this.accessToken && !(await this.refresh())) throw new ApiError(401, undefined);
    try {
      return await attempt(false);
    } catch (e) {
      if (!mayRetry() || !(e instanceof ApiError) || e.status !== 401 || !(await this.refresh())) throw e;
      return attempt(true);
    }
  }

  /** An authenticated GET of bytes (an upload, a thumbnail): `<img src>` cannot send the token, so the caller makes a blob: URL. */
  async blob(path: string): Promise<Blob> {
    const get = async () => {
      const res = await fetch(path, { headers: { authorization: `Bearer ${this.accessToken}` } }).catch(() => {
        throw new ApiError(0, undefined);
      });
      if (!res.ok) throw new ApiError(res.status, undefined);
      return res.blob();
    };
    return this.withToken(get);
  }

  /**
   * Uploads one file (multipart, field `file`) with progress; `abort` cancels it (the promise
   * then rejects with `Cancelled`). A 401 refreshes the token and sends the file once more.
   */
  upload<T>(path: string, file: Blob, onProgress: (loaded: number) => void): { done: Promise<T>; abort: () => void } {
    let xhr: XMLHttpRequest | undefined;
    let aborted = false;
    const once = () =>
      new Promise<T>((resolve, reject) => {
        if (aborted) return reject(new Cancelled());
        const x = (xhr = new XMLHttpRequest());
        x.open('POST', path);
        x.setRequestHeader('authorization', `Bearer ${this.accessToken}`);
        x.upload.onprogress = (e) => onProgress(e.loaded);
        x.onabort = () => reject(new Cancelled());
        x.onerror = () => reject(new ApiError(0, { statusCode: 0, error: 'Network Error', message: 'The server cannot be reached' }));
        x.onload = () => {
          let data: unknown;
          try {
            data = x.responseText ? JSON.parse(x.responseText) : undefined;
          } catch {
            data = undefined;
          }
          if (x.status >= 200 && x.status < 300) resolve(data as T);
          else reject(new ApiError(x.status, data as ErrorBody | undefined));
        };
        const form = new FormData();
        form.append('file', file);
        x.send(form);
      });
    const done = this.withToken(
      (again) => {
        if (again) onProgress(0);
        return once();
      },
      () => !aborted,
    );
    return {
      done,
      abort: () => {
        aborted = true;
        xhr?.abort();
      },
    };
  }

  private adopt(r: BrowserAuthResult) {
    this.user = r.user;
    this.accessToken = r.accessToken;
    this.storage.setItem(HINT_KEY, '1');
    clearTimeout(this.timer);
    const refreshIn = Math.max(5, r.expiresIn - 60) * 1000;
    this.timer = setTimeout(() => void this.refresh(), refreshIn);
    this.emit();
  }

  private clear() {
    clearTimeout(this.timer);
    this.user = null;
    this.accessToken = null;
    this.storage.removeItem(HINT_KEY);
    this.emit();
  }

  private emit() {
    for (const fn of this.listeners) fn();
  }
}

export async function request<T = unknown>(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<T> {
  const headers: Record<string, string> = { ...opts.headers };
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
