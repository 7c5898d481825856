// edge-sessions for JavaScript Workers: thin glue over the Rust engine (dist/, built by
// scripts/build.sh). All session logic (signing, fixation rejection, change tracking, locking,
// merge patches) runs in the wasm module; this file only adapts it to JavaScript habits.
import { SessionsCore, SessionLock } from "./dist/index.js";

export { SessionLock };

/** One request's session. Values are anything JSON can carry. */
export class Session {
  #scope;
  constructor(scope) {
    this.#scope = scope;
  }
  /** @internal */
  get _scope() {
    return this.#scope;
  }
  get id() {
    return this.#scope.id();
  }
  get isNew() {
    return this.#scope.isNew();
  }
  get(key) {
    const text = this.#scope.get(key);
    return text === undefined ? undefined : JSON.parse(text);
  }
  set(key, value) {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`session value for ${key} is not JSON-serializable`);
    this.#scope.set(key, text);
    return this;
  }
  delete(key) {
    return this.#scope.remove(key);
  }
  has(key) {
    return this.#scope.has(key);
  }
  keys() {
    return this.#scope.keys();
  }
  toJSON() {
    return JSON.parse(this.#scope.dataJson());
  }
  /** New id, same data; the old id stops working at commit. Call it after login. */
  regenerate() {
    this.#scope.regenerate();
  }
  /** Delete the data server-side and expire the cookie at commit. */
  destroy() {
    this.#scope.destroy();
  }
  /** Explicit locking: take the session's lock (FIFO) and reload the data under it. */
  acquire() {
    return this.#scope.acquire();
  }
  /** Explicit locking: save the changes made so far under the lock, then release it. */
  release() {
    return this.#scope.release();
  }
  get holdsLock() {
    return this.#scope.holdsLock();
  }
}

/** The opaque response for a session error (fixed status and body, no internals). */
export function errorResponse(err) {
  if (err && typeof err.status === "number" && typeof err.publicMessage === "string") {
    return new Response(err.publicMessage, { status: err.status, headers: { "cache-control": "no-store" } });
  }
  return null;
}

export class Sessions {
  #core;
  /**
   * @param env the worker's env: needs the SESSIONS KV binding, the SESSION_LOCKS Durable
   *   Object binding, and SESSION_SECRET (as a secret or in options).
   * @param options the worker vars' names, meanings and defaults (SESSION_TIMEOUT, ...); they
   *   override env vars. A bad value throws an Error naming it.
   */
  constructor(env, options = {}) {
    this.#core = new SessionsCore(env, options);
  }

  /** Loads the request's session (locking per SESSION_LOCKING). */
  async load(request) {
    const scope = this.#core.start(request);
    await scope.load();
    return new Session(scope);
  }

  /** Saves what changed, adds Set-Cookie, releases the lock; returns the response to send. */
  commit(session, response, ctx) {
    return session._scope.commit(response, ctx);
  }

  /** Ends the request without saving, releasing the lock. */
  abandon(session) {
    return session._scope.abandon();
  }

  /**
   * Runs `handler(session)` and commits its response; on every path the lock is released.
   * Session errors become their opaque response (503 busy, 409 lease lost, ...).
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

  /** One expiry sweep; call it from your scheduled handler. Resolves to a log line. */
  sweep() {
    return this.#core.sweep();
  }
}
