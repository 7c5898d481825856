// Types for edge-sessions' Hono middleware.
import type { MiddlewareHandler } from "hono";
import type { Session, SessionData, SessionEnv, SessionOptions } from "./index.js";

/**
 * The variables the middleware sets, for your app's type:
 * `new Hono<{ Bindings: Env; Variables: SessionVariables<Data> }>()`, then
 * `c.get("session")` is a `Session<Data>`.
 */
export type SessionVariables<Data extends object = SessionData> = { session: Session<Data> };

/**
 * `app.use(session(options?))`: loads the request's session (locking per SESSION_LOCKING)
 * before the handlers and commits it after them (changes saved, Set-Cookie added, lock
 * released). When a handler throws, nothing is saved and the lock is released at once.
 * Session errors at load or commit become their opaque response (503, 409, ...).
 * `options` are those of `new Sessions` and override the env's SESSION_* vars.
 */
export declare function session<Data extends object = SessionData>(
  options?: SessionOptions,
): MiddlewareHandler<{ Bindings: SessionEnv; Variables: SessionVariables<Data> }>;
