// A Hono app with sessions: a counter, login (regenerate + redirect), logout (destroy), and
// handlers that throw after changing the session (nothing may be saved, the lock freed at once).
import { Hono } from "hono";
import { Sessions, SessionLock } from "edge-sessions";
import { session } from "edge-sessions/hono";

export { SessionLock };

const app = new Hono();

app.get("/health", (c) => c.json({ ok: true })); // before the middleware: no session loaded

app.use(session());

app.get("/count", (c) => {
  const s = c.get("session");
  const count = (s.get("count") ?? 0) + 1;
  s.set("count", count);
  return c.json({ count, isNew: s.isNew });
});

app.get("/whoami", (c) => {
  const s = c.get("session");
  return c.json({ id: s.id, data: s.toJSON(), isNew: s.isNew });
});

app.get("/login", (c) => {
  const s = c.get("session");
  s.regenerate();
  s.set("user", c.req.query("user") ?? "guest");
  return c.redirect("/count");
});

app.get("/login-fetch-style", (c) => {
  // a redirect whose headers are immutable: the commit copies it
  const s = c.get("session");
  s.regenerate();
  s.set("user", "immutable");
  return Response.redirect(new URL("/whoami", c.req.url).toString(), 302);
});

app.get("/proxied", async (c) => {
  // a fetch() result: immutable headers, with its own cookie and a public cache-control
  c.get("session").set("proxied", true);
  return fetch("https://origin.example/page");
});

app.get("/logout", (c) => {
  c.get("session").destroy();
  return c.json({ ok: true });
});

app.get("/boom", (c) => {
  c.get("session").set("lost", true);
  throw new Error("boom after set");
});

app.get("/boom-string", (c) => {
  // a non-Error: Hono rethrows it past onError, out of the middleware's next()
  c.get("session").set("lost", true);
  throw "boom string";
});

// a mistake: the middleware again on a route; a clear error, not a wait for our own lock
app.get("/twice", session(), (c) => c.text("unreachable"));

app.onError((err, c) => {
  console.error(`onError: ${err.message}`);
  return c.text("internal error", 500);
});

export default {
  fetch: app.fetch,
  async scheduled(_event, env, ctx) {
    ctx.waitUntil(new Sessions(env).sweep().then((line) => console.log(line)));
  },
};
