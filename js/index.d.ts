// Types for edge-sessions' JavaScript API.
import { DurableObject } from "cloudflare:workers";

/** JSON values a session can hold. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A duration: "500ms", "90s", "60m", "2h", "7d"; a bare number means minutes. */
export type Duration = string | number;

/**
 * Options: the same names, meanings and defaults as the proxy worker's vars. Each overrides
 * the env var of the same name. An unknown key or a bad value throws at construction.
 */
export interface SessionOptions {
  /** Comma-separated secrets, each at least 32 bytes, newest first. Required here or in env. */
  SESSION_SECRET?: string;
  /** Idle timeout. Default "60m". */
  SESSION_TIMEOUT?: Duration;
  /** Absolute lifetime from creation, or "off" (default). */
  SESSION_ABSOLUTE_TIMEOUT?: Duration;
  /** Share of the timeout after which an unchanged session's expiry is rewritten. Default 0.1. */
  SESSION_REFRESH_SHARE?: string | number;
  /** "implicit" (default), "early", "explicit" or "none". */
  SESSION_LOCKING?: "implicit" | "early" | "explicit" | "none";
  /** Lock wait before an error with status 503. Default "10s". */
  SESSION_LOCK_TIMEOUT?: Duration;
  /** Lock lease. Default "30s". */
  SESSION_LOCK_LEASE?: Duration;
  /** Comma-separated path prefixes that never take the lock. */
  SESSION_UNLOCKED_PATHS?: string;
  /** Largest session data in JSON bytes. Default 4096, at most 6000 (it travels in one request header in the proxy). */
  SESSION_MAX_BYTES?: string | number;
  /** Proxy header prefix (unused by the JS API). Default "X-Session-". */
  SESSION_HEADER_PREFIX?: string;
  /** Storage operations per sweep run. Default 900. */
  SESSION_SWEEP_BUDGET?: string | number;
  /** Keys per sweep page. Default 1000. */
  SESSION_SWEEP_PAGE?: string | number;
  /** Default "__Host-session". */
  SESSION_COOKIE_NAME?: string;
  /** Default "/". */
  SESSION_COOKIE_PATH?: string;
  /** Request header whose value is the cookie path. */
  SESSION_COOKIE_PATH_HEADER?: string;
  /** Default: host-only. */
  SESSION_COOKIE_DOMAIN?: string;
  /** Default true. */
  SESSION_COOKIE_SECURE?: boolean | string;
  /** Default true. */
  SESSION_COOKIE_HTTPONLY?: boolean | string;
  /** Default false. */
  SESSION_COOKIE_PARTITIONED?: boolean | string;
  /** Default true (Max-Age follows the session); false makes a browser-session cookie. */
  SESSION_COOKIE_PERSISTENT?: boolean | string;
  /** "lax" (default), "strict" or "none". */
  SESSION_COOKIE_SAMESITE?: "lax" | "strict" | "none";
}

/** Errors from session operations carry an HTTP status and an opaque message for clients. */
export interface SessionError extends Error {
  status: number;
  publicMessage: string;
}

/** The shape of a session's data: string keys, JSON values. */
export type SessionData = { [key: string]: Json };

/**
 * One request's session. `Data` types the keys and values (`Sessions<{ count: number }>`);
 * by default any key holds any JSON value.
 */
export declare class Session<Data extends object = SessionData> {
  private constructor();
  readonly id: string;
  /** True when this request started the session. */
  readonly isNew: boolean;
  readonly holdsLock: boolean;
  get<K extends keyof Data & string>(key: K): Data[K] | undefined;
  /** `key` now holds exactly `value` (objects are replaced whole); `set(key, null)` deletes `key`. */
  set<K extends keyof Data & string>(key: K, value: Data[K] | null): this;
  /** "Remember me": this session's own idle timeout ("30d"); its cookie becomes persistent. At most 400 days. */
  setTimeout(duration: Duration): this;
  /** Stores `value` under `key` until it is read once with `getFlash` (kept in the data under `_flash`). */
  flash(key: string, value: Json): this;
  /** Reads a flash value and removes it; undefined when there is none. */
  getFlash<T extends Json = Json>(key: string): T | undefined;
  delete(key: keyof Data & string): boolean;
  has(key: keyof Data & string): boolean;
  keys(): (keyof Data & string)[];
  toJSON(): Partial<Data>;
  /**
   * Binds the session to a user (1 to 128 of A-Z a-z 0-9 . _ ~ @ + -), listing it in the
   * user's index for `listUser` / `destroyUser`; `client` is a short description (at most 64
   * printable ASCII characters). Call it at login, with `regenerate()`.
   */
  setUser(uid: string, options?: { client?: string }): this;
  /** The user the session is bound to, if any. */
  readonly user: string | undefined;
  /** New id, same data; the old id stops working at commit. */
  regenerate(): void;
  /** Delete the data server-side and expire the cookie at commit. */
  destroy(): void;
  /** Explicit locking: take the lock (FIFO) and reload the data under it. */
  acquire(): Promise<void>;
  /** Explicit locking: save the changes made so far under the lock, then release it. */
  release(): Promise<void>;
}

/** One of a user's live sessions, as `listUser` gives it. */
export interface UserSession {
  /** The session's 12-hex-digit hash (as logs and hooks show it), never its id. */
  id: string;
  /** Creation time, Unix ms (kept across regenerates). */
  created: number;
  /** Last bound to the user (login), Unix ms. */
  bound: number;
  /** The client description given to `setUser`, if any. */
  client?: string;
  /** True for the session passed as `current`. */
  current: boolean;
}

/**
 * The env bindings the sessions need. Any env that has them fits, including the `Env` that
 * `wrangler types` generates (`SESSION_LOCKS: DurableObjectNamespace<SessionLock>`).
 */
export interface SessionEnv {
  SESSIONS: KVNamespace;
  SESSION_LOCKS: DurableObjectNamespace<SessionLock>;
}

export declare class Sessions<Data extends object = SessionData> {
  /** `env` must carry the bindings; SESSION_* vars and the SESSION_SECRET secret are read from it too. */
  constructor(env: SessionEnv, options?: SessionOptions);
  load(request: Request): Promise<Session<Data>>;
  commit(session: Session<Data>, response: Response, ctx: ExecutionContext): Promise<Response>;
  abandon(session: Session<Data>): Promise<void>;
  withSession(
    request: Request,
    ctx: ExecutionContext,
    handler: (session: Session<Data>) => Response | Promise<Response>,
  ): Promise<Response>;
  sweep(): Promise<string>;
  /** A user's live sessions, oldest first; `current` marks that session. */
  listUser(uid: string, options?: { current?: Session<Data> }): Promise<UserSession[]>;
  /** "Log out everywhere": destroys the user's sessions, or all but `except`; resolves to how many. */
  destroyUser(uid: string, options?: { except?: Session<Data> }): Promise<number>;
  /** Audit hooks, called after a successful commit (or sweep); ids are hashes, never raw ids. */
  on<T extends SessionEvent["type"]>(type: T, fn: (event: Extract<SessionEvent, { type: T }>) => void): this;
}

/** A change in a session's life; `id` and `previous` are the 12-hex-digit hashes the logs use. */
export type SessionEvent =
  | { type: "created"; id: string }
  | { type: "regenerated"; id: string; previous: string }
  | { type: "destroyed"; id: string }
  | { type: "expired"; id: string };

/** The Durable Object class; export it from your worker: `export { SessionLock } from "edge-sessions"`. */
export declare class SessionLock extends DurableObject {
  fetch(request: Request): Promise<Response>;
  alarm(): Promise<void>;
}

/** The opaque response for a session error, or null for other errors. */
export declare function errorResponse(err: unknown): Response | null;
