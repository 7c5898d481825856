// edge-sessions for Hono: a middleware that loads the request's session before the handlers
// run and commits it after them, on every path. Handlers read it with `c.get("session")`.
import { Sessions, errorResponse } from "./index.js";

/**
 * `app.use(session(options?))`: options are `new Sessions`' SESSION_* options. The session is
 * loaded (locking per SESSION_LOCKING) before `next()` and committed after it (changes saved,
 * Set-Cookie added, lock released). If a handler throws, nothing is saved and the lock is
 * released at once; the error goes on to Hono's error handler. Session errors (503 busy,
 * 409 lease lost, ...) at load or commit become their opaque response.
 */
export function session(options = {}) {
  // a Sessions is cheap: its settings are parsed once per env (js/engine.js: perEnv)
  const sessionsFor = (env) => {
    if (env === null || typeof env !== "object") {
      throw new TypeError("edge-sessions/hono: c.env has no bindings; the middleware runs on Cloudflare Workers");
    }
    return new Sessions(env, options);
  };

  return async function sessionMiddleware(c, next) {
    if (c.get("session") !== undefined) {
      // a second load would wait for the lock the first one holds
      throw new Error("edge-sessions/hono: session() ran twice for one request; use it once per route");
    }
    const sessions = sessionsFor(c.env);
    let s;
    try {
      s = await sessions.load(c.req.raw);
    } catch (err) {
      const r = errorResponse(err);
      if (r) return r;
      throw err;
    }
    c.set("session", s);

    const errorBefore = c.error;
    try {
      await next();
    } catch (err) {
      // reached only when Hono rethrows (e.g. a thrown non-Error); usually onError answers
      c.executionCtx.waitUntil(sessions.abandon(s));
      throw err;
    }
    if (c.error !== undefined && c.error !== errorBefore) {
      // a handler threw and Hono's onError made the response: save nothing, free the lock
      c.executionCtx.waitUntil(sessions.abandon(s));
      return;
    }

    const response = c.res;
    let committed;
    try {
      committed = await sessions.commit(s, response, c.executionCtx);
    } catch (err) {
      const r = errorResponse(err);
      if (!r) throw err;
      committed = r;
    }
    // Clear first: assigning over an existing c.res makes Hono copy the old response's headers
    // onto the new one: for a copied response (immutable headers, e.g. a fetch() result) its
    // own Set-Cookie and Cache-Control would replace the session cookie and the no-store.
    c.res = undefined;
    c.res = committed;
  };
}
