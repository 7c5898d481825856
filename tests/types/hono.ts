// Type tests for edge-sessions/hono: what users write with Hono must type-check.
import { Hono } from "hono";
import { SessionLock, type Session } from "edge-sessions";
import { session, type SessionVariables } from "edge-sessions/hono";
export { SessionLock };

// What `wrangler types` generates for a worker with these bindings and a secret.
interface Env {
  SESSIONS: KVNamespace;
  SESSION_LOCKS: DurableObjectNamespace<import("edge-sessions").SessionLock>;
  SESSION_SECRET: string;
}

type Data = { count: number; user?: string };

const app = new Hono<{ Bindings: Env; Variables: SessionVariables<Data> }>();
app.use(session());

// options: the SESSION_* names of `new Sessions`
export const admin = new Hono<{ Bindings: Env; Variables: SessionVariables<Data> }>();
admin.use(session({ SESSION_TIMEOUT: "15m", SESSION_LOCKING: "early", SESSION_COOKIE_SECURE: true }));

app.get("/count", (c) => {
  const s = c.get("session");
  const before: number | undefined = s.get("count");
  const n: number = (before ?? 0) + 1;
  s.set("count", n);
  s.set("user", null); // null deletes
  // @ts-expect-error: count is a number
  s.set("count", "many");
  // @ts-expect-error: not a key of Data
  s.get("nope");
  // @ts-expect-error: get("count") may be undefined
  const strict: number = s.get("count");
  void strict;
  const env: Env = c.env;
  void env;
  return c.json({ n });
});

app.get("/login", (c) => {
  c.get("session").regenerate();
  return c.redirect("/count");
});

// the middleware's own type argument types the chained app, without Variables on the app
export const chained = new Hono<{ Bindings: Env }>().use(session<Data>()).get("/", (c) => {
  const s: Session<Data> = c.get("session");
  return c.text(String(s.get("count") ?? 0));
});

// @ts-expect-error: options use the SESSION_* names
session({ timeout: "5m" });
// @ts-expect-error: not a locking mode
session({ SESSION_LOCKING: "sometimes" });

export default app;
