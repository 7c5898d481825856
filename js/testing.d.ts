// Types for edge-sessions/testing: the real package on in-memory bindings, in Node 20.6+.
import type { SessionData, SessionEnv, SessionLock, SessionOptions, Sessions } from "./index.js";

/** The package module itself (`Sessions`, `Session`, `SessionLock`, `errorResponse`), loaded once after the loader hooks. */
export declare function loadSessions(): Promise<typeof import("./index.js")>;

/** A Map-backed KV namespace: get, getWithMetadata, put (expiration, expirationTtl, metadata), list, delete. */
export declare class MemoryKV {
  get(key: string, options?: "text" | "json" | "arrayBuffer" | "stream" | { type?: string; cacheTtl?: number }): Promise<any>;
  getWithMetadata(
    key: string,
    options?: "text" | "json" | "arrayBuffer" | "stream" | { type?: string; cacheTtl?: number },
  ): Promise<{ value: any; metadata: unknown; cacheStatus: null }>;
  put(
    key: string,
    value: string | ArrayBuffer | ArrayBufferView | ReadableStream,
    options?: { expiration?: number; expirationTtl?: number; metadata?: unknown },
  ): Promise<void>;
  delete(key: string): Promise<void>;
  list(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<{
    keys: { name: string; expiration?: number; metadata?: unknown }[];
    list_complete: boolean;
    cursor?: string;
    cacheStatus: null;
  }>;
  /** Test helper: the live entries as text, by key. */
  dump(): Record<string, string>;
}

/** Map-backed Durable Object storage of one fake instance. */
export interface MemoryStorage {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<boolean>;
  deleteAll(): Promise<void>;
  list(options?: { prefix?: string; start?: string; end?: string; reverse?: boolean; limit?: number }): Promise<Map<string, unknown>>;
  getAlarm(): Promise<number | null>;
  setAlarm(time: number | Date): Promise<void>;
  deleteAlarm(): Promise<void>;
}

/** One in-process Durable Object: the real class, its fake storage, and its alarm. */
export interface MemoryObjectInstance<T = unknown> {
  readonly object: T;
  readonly storage: MemoryStorage;
  /** Runs the alarm now (it also runs by itself when due, on an unref'd timer). */
  fireAlarm(): Promise<void>;
}

/** A Durable Object namespace whose stubs call one in-process instance of the class per name. */
export declare class MemoryDurableObjectNamespace<T = unknown> {
  constructor(Class: new (state: unknown, env: unknown) => T, env: object, errors?: unknown[]);
  idFromName(name: string): { toString(): string; equals(other: unknown): boolean; name?: string };
  idFromString(hex: string): { toString(): string; equals(other: unknown): boolean; name?: string };
  newUniqueId(): { toString(): string; equals(other: unknown): boolean; name?: string };
  get(id: { toString(): string }): { fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> };
  getByName(name: string): { fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> };
  /** Test helper: the instances created so far, by name. */
  readonly instances: Map<string, MemoryObjectInstance<T>>;
  /** Test helper: runs every alarm that is set, now. */
  runAlarms(): Promise<void>;
  /** Test helper: awaits the instances' own waitUntil work. */
  settle(): Promise<void>;
}

/** A fake ExecutionContext whose waitUntil collects promises. */
export interface TestExecutionContext extends ExecutionContext {
  /** Awaits everything passed to waitUntil so far (and what that adds); rejects with the first failure. */
  settle(): Promise<void>;
}

export declare function createExecutionContext(): TestExecutionContext;

/** The cookies a response sets, name to value; null for a cookie it expires. */
export declare function responseCookies(response: Response): Map<string, string | null>;

export interface TestSessionsOptions {
  /** Extra env entries: SESSION_* vars, your own bindings. */
  env?: Record<string, unknown>;
  /** The `new Sessions(env, options)` options. */
  options?: SessionOptions;
  /** SESSION_SECRET (default: a fixed test secret of 32+ bytes). */
  secret?: string;
}

export interface TestSessions<Data extends object = SessionData> {
  /** A real `Sessions` over the in-memory bindings. */
  sessions: Sessions<Data>;
  /** The env: SESSIONS (MemoryKV), SESSION_LOCKS (MemoryDurableObjectNamespace), SESSION_SECRET and your entries. */
  env: SessionEnv & { SESSION_SECRET: string; [key: string]: unknown };
  ctx: TestExecutionContext;
  kv: MemoryKV;
  locks: MemoryDurableObjectNamespace<SessionLock>;
  /** The package module, to build more `Sessions` on `env` (or pass `env` to your worker's fetch). */
  module: typeof import("./index.js");
  Sessions: typeof Sessions;
  /** Errors thrown inside the lock objects (alarms, their waitUntil work); empty when all went well. */
  errors: unknown[];
  /**
   * A Request to `url` with a Cookie header: the cookies `previous` set, plus those of earlier
   * responses passed here (a jar; expired cookies are dropped), plus `init`'s own Cookie.
   */
  request(url: string | URL, previous?: Response | null, init?: RequestInit): Request;
  /** The session cookie's value in `response`: undefined when it sets none, null when it expires it. */
  sessionCookie(response: Response, name?: string): string | null | undefined;
  /** Awaits ctx.waitUntil work and the lock objects' background work. */
  settle(): Promise<void>;
  /** Empties the cookie jar (a second browser on the same storage). */
  clearCookies(): void;
}

/**
 * The real package (wasm engine, real SessionLock) on in-memory KV and Durable Object fakes,
 * in plain Node 20.6+ (no workerd). Importing "edge-sessions/testing" registers Node loader
 * hooks; import modules that import "edge-sessions" after it (dynamically, or preload it
 * with `node --import edge-sessions/testing --test`).
 */
export declare function createTestSessions<Data extends object = SessionData>(
  options?: TestSessionsOptions,
): Promise<TestSessions<Data>>;
