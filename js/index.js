// edge-sessions for JavaScript Workers: thin glue over the Rust engine (dist/, built by
// scripts/build.sh). All session logic (signing, fixation rejection, change tracking, locking,
// merge patches) runs in the wasm module; this file only adapts it to JavaScript habits.
import { call, settle, isTrapped, transport, sweepStore, perEnv, errorResponse, KV_BINDING } from "./engine.js";
import { SessionLock } from "./lock.js";

export { SessionLock };

/** Parsed settings, per env object and options (see perEnv), so a `new Sessions(env)` per request parses nothing. */
function coreFor(env, options) {
  if (env === null || typeof env !== "object") throw new TypeError("new Sessions(env): env must be the worker's env object");
  return perEnv(env, JSON.stringify(options ?? {}), (instance) => new instance.SessionsCore(env, options, transport(env)));
}

/** User ids are strings (a session bound to no user has none: `session.user` is undefined). */
function checkUser(uid) {
  if (typeof uid !== "string") throw new TypeError(`a user id must be a string, got ${typeof uid}`);
}

/** Session keys are strings; anything else is a caller's bug, reported before it reaches wasm. */
function checkKey(key) {
  if (typeof key !== "string") throw new TypeError(`session keys must be strings, got ${typeof key}`);
}

/**
 * The response a commit adds its headers to, checked before anything is saved: a Response
 * whose body is still unread, with headers we may change. A redirect's or a fetch() result's
 * headers are immutable, so those are copied (a WebSocket upgrade keeps its socket).
 */
function prepare(response) {
  if (!(response instanceof Response)) {
    const got = response === null ? "null" : typeof response === "object" ? response.constructor?.name ?? "object" : typeof response;
    throw new TypeError(`the session handler must return a Response, got ${got}`);
  }
  if (response.bodyUsed) {
    throw new TypeError("the session handler returned a Response whose body was already read; return a new Response");
  }
  try {
    response.headers.append("vary", "Cookie");
    return response;
  } catch {
    const copy = response.webSocket
      ? new Response(null, { status: 101, webSocket: response.webSocket, headers: response.headers })
      : new Response(response.body, response);
    copy.headers.append("vary", "Cookie");
    return copy;
  }
}

/** One request's session. Values are anything JSON can carry. */
export class Session {
  #scope;
  #instance;
  constructor(scope, instance) {
    this.#scope = scope;
    this.#instance = instance;
  }
  /** @internal runs a synchronous engine call (a trap becomes an opaque 500) */
  _run(f) {
    const scope = this.#live();
    return call(this.#instance, () => f(scope));
  }
  /** @internal awaits an engine call (a trap becomes an opaque 500, never a hang) */
  _wait(f) {
    const scope = this.#live();
    return settle(this.#instance, call(this.#instance, () => f(scope)));
  }
  #live() {
    if (this.#scope === null) throw new TypeError("this session was already committed or abandoned");
    return this.#scope;
  }
  /**
   * @internal the request is over: the engine scope is freed at once rather than left to the
   * garbage collector's finalizers (idempotent; a trapped instance is not touched again)
   */
  _end() {
    const scope = this.#scope;
    this.#scope = null;
    if (scope !== null && !isTrapped(this.#instance)) scope.free();
  }
  /** @internal whether the engine instance behind this session trapped */
  get _dead() {
    return isTrapped(this.#instance);
  }
  get id() {
    return this._run((s) => s.id());
  }
  get isNew() {
    return this._run((s) => s.isNew());
  }
  get(key) {
    checkKey(key);
    const text = this._run((s) => s.get(key));
    return text === undefined ? undefined : JSON.parse(text);
  }
  /** `key` now holds exactly `value`; `set(key, null)` deletes `key`. */
  set(key, value) {
    checkKey(key);
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`session value for ${key} is not JSON-serializable`);
    this._run((s) => s.set(key, text));
    return this;
  }
  /**
   * "Remember me": this session's own idle timeout from now on ("30d", "12h"; a bare number is
   * minutes), instead of SESSION_TIMEOUT. Its cookie becomes persistent with a matching
   * Max-Age; the absolute timeout still caps it.
   */
  setTimeout(duration) {
    this._run((s) => s.setTimeout(String(duration)));
    return this;
  }
  /** Stores `value` under `key` until it is read once with getFlash (a message after a redirect). */
  flash(key, value) {
    checkKey(key);
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`flash value for ${key} is not JSON-serializable`);
    this._run((s) => s.flash(key, text));
    return this;
  }
  /** Reads a flash value and removes it (read once); undefined when there is none. */
  getFlash(key) {
    checkKey(key);
    const text = this._run((s) => s.takeFlash(key));
    return text === undefined ? undefined : JSON.parse(text);
  }
  delete(key) {
    checkKey(key);
    return this._run((s) => s.remove(key));
  }
  has(key) {
    checkKey(key);
    return this._run((s) => s.has(key));
  }
  keys() {
    return this._run((s) => s.keys());
  }
  toJSON() {
    return JSON.parse(this._run((s) => s.dataJson()));
  }
  /**
   * Binds the session to user `uid` (1 to 128 of A-Z a-z 0-9 . _ ~ @ + -; base64url-encode
   * other ids), listing it in that user's index so `sessions.listUser` and
   * `sessions.destroyUser` find it. `client` is an optional short description ("Firefox on
   * Linux", at most 64 printable ASCII characters). Call it at login, with regenerate().
   */
  setUser(uid, { client } = {}) {
    checkUser(uid);
    if (client !== undefined && typeof client !== "string") throw new TypeError("client must be a string");
    this._run((s) => s.setUser(uid, client));
    return this;
  }
  /** The user the session is bound to, or undefined. */
  get user() {
    return this._run((s) => s.user());
  }
  /** New id, same data; the old id stops working at commit. Call it after login. */
  regenerate() {
    this._run((s) => s.regenerate());
  }
  /** Delete the data server-side and expire the cookie at commit. */
  destroy() {
    this._run((s) => s.destroy());
  }
  /** Explicit locking: take the session's lock (FIFO) and reload the data under it. */
  acquire() {
    return this._wait((s) => s.acquire());
  }
  /** Explicit locking: save the changes made so far under the lock, then release it. */
  release() {
    return this._wait((s) => s.release());
  }
  get holdsLock() {
    return this._run((s) => s.holdsLock());
  }
}

/** The opaque response for a session error (fixed status and body, no internals), or null. */
export { errorResponse };

export class Sessions {
  #core;
  #hooks = { created: [], regenerated: [], destroyed: [], expired: [] };
  /**
   * @param env the worker's env: needs the SESSIONS KV binding, the SESSION_LOCKS Durable
   *   Object binding, and SESSION_SECRET (as a secret or in options).
   * @param options the worker vars' names, meanings and defaults (SESSION_TIMEOUT, ...); they
   *   override env vars. A bad value throws an Error naming it.
   */
  #env;
  #instance;
  #pathHeader;
  constructor(env, options = {}) {
    const { instance, core, pathHeader } = coreFor(env, options);
    this.#pathHeader = pathHeader;
    this.#env = env;
    this.#instance = instance;
    this.#core = core;
  }

  /** Loads the request's session (locking per SESSION_LOCKING). */
  async load(request) {
    const core = this.#core;
    const pathHeader = this.#pathHeader;
    const instance = this.#instance;
    const scope = call(instance, () =>
      core.start(
        request.headers.get("cookie") ?? "",
        new URL(request.url).pathname,
        pathHeader === undefined ? undefined : request.headers.get(pathHeader) ?? undefined
      )
    );
    await settle(instance, call(instance, () => scope.load()));
    return new Session(scope, instance);
  }

  /**
   * Saves what changed, adds Set-Cookie, releases the lock; returns the response to send
   * (a copy when the given one's headers are immutable, as a redirect's are). A value that is
   * not a Response, or one whose body was already read, is a TypeError, and the lock is
   * released at once, before anything is saved.
   */
  async commit(session, response, ctx) {
    let ready;
    try {
      ready = prepare(response);
    } catch (err) {
      await this.abandon(session);
      throw err;
    }
    let finished;
    try {
      finished = await session._wait((s) => s.finish(ctx));
    } finally {
      session._end();
    }
    const { setCookie, lifecycle } = JSON.parse(finished);
    if (setCookie !== null) {
      ready.headers.append("set-cookie", setCookie);
      ready.headers.set("cache-control", "private, no-store");
    }
    if (lifecycle) this.#emit(lifecycle);
    return ready;
  }

  /** Ends the request without saving, releasing the lock. */
  async abandon(session) {
    // a trapped instance's objects are not touched again: its lease simply runs out
    try {
      if (!session._dead) await session._wait((s) => s.abandon());
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // already committed or abandoned: nothing held
    } finally {
      session._end();
    }
  }

  /**
   * Runs `handler(session)` and commits its response; on every path the lock is released.
   * Session errors, wherever they happen, become their opaque response (503 busy, 409 lease
   * lost, 507 too large, 500 engine failure); the handler's own errors are rethrown.
   */
  async withSession(request, ctx, handler) {
    let session;
    try {
      session = await this.load(request);
    } catch (err) {
      const r = errorResponse(err);
      if (r) return r;
      throw err;
    }
    let response;
    try {
      response = await handler(session);
    } catch (err) {
      ctx.waitUntil(this.abandon(session));
      // a session error inside the handler (busy, too large, an engine trap) is answered
      // like one at load or commit; any other error is the handler's own and goes on
      const r = errorResponse(err);
      if (r) return r;
      throw err;
    }
    try {
      return await this.commit(session, response, ctx);
    } catch (err) {
      const r = errorResponse(err);
      if (r) return r;
      throw err;
    }
  }

  /**
   * The live sessions of user `uid`, oldest first: `[{ id, created, bound, client, current }]`
   * where `id` is the session's hash (never its id), `created` and `bound` (last login) are
   * Unix ms, and `current` marks `options.current` (a Session, usually the caller's).
   */
  async listUser(uid, { current } = {}) {
    checkUser(uid);
    const instance = this.#instance;
    const pending = call(instance, () => this.#core.listUser(uid, current?.id));
    return JSON.parse(await settle(instance, pending));
  }

  /**
   * "Log out everywhere": destroys all of user `uid`'s sessions, or all but `options.except`
   * (a Session: "log out other devices"). When it resolves, each destroyed session is dead
   * for every later request, and a request still holding one cannot save anything. Resolves
   * to how many were destroyed.
   */
  async destroyUser(uid, { except } = {}) {
    checkUser(uid);
    const instance = this.#instance;
    const pending = call(instance, () => this.#core.destroyUser(uid, except?.id));
    return settle(instance, pending);
  }

  /** One expiry sweep; call it from your scheduled handler. Resolves to a log line. */
  async sweep() {
    const instance = this.#instance;
    const pending = call(instance, () => this.#core.sweep(sweepStore(this.#env[KV_BINDING])));
    const { line, expired } = JSON.parse(await settle(instance, pending));
    for (const id of expired) this.#emit({ type: "expired", id });
    return line;
  }

  /**
   * Lifecycle hooks for audit logs: `on("created" | "regenerated" | "destroyed" | "expired",
   * fn)`. `fn` gets `{ type, id }` (plus `previous` for regenerated), where ids are the same
   * 12-hex-digit hashes the logs use, never the session id itself. Called after the commit
   * (or the sweep) succeeded; a hook that throws is logged and does not fail the request.
   */
  on(type, fn) {
    if (!(type in this.#hooks)) throw new TypeError(`unknown session event ${type}; use created, regenerated, destroyed or expired`);
    if (typeof fn !== "function") throw new TypeError("a session hook must be a function");
    this.#hooks[type].push(fn);
    return this;
  }

  #emit(event) {
    for (const fn of this.#hooks[event.type] ?? []) {
      try {
        fn(event);
      } catch (err) {
        console.error(`session ${event.type} hook failed: ${err}`);
      }
    }
  }
}
