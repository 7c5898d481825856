// End-to-end tests of edge-sessions/hono: a Hono app (the real hono package) using the session
// middleware, bundled by wrangler as for a deploy and run on workerd with real KV and Durable
// Objects.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { root, startModule, sessionCookie, idOf, kvSessionKeys, eventually } from "./harness.mjs";

const NAME = "__Host-session";
const cookie = (value) => ({ headers: { cookie: `${NAME}=${value}` } });
const CONFIG = "tests/e2e/hono-worker/wrangler.toml";

/** Bundles the worker with `wrangler deploy --dry-run` into its git-ignored dist/. */
function bundle(config) {
  const out = path.join(root, path.dirname(config), "dist");
  rmSync(out, { recursive: true, force: true });
  execFileSync(path.join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "-c", config, "--outdir", out], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    stdio: "pipe",
  });
  return out;
}

describe("Hono middleware (edge-sessions/hono)", () => {
  let dir, w;
  before(async () => {
    dir = bundle(CONFIG);
    // the worker's outbound fetch(): an origin answering with its own cookie, publicly cacheable
    const outboundService = () =>
      new Response("from origin", {
        headers: { "set-cookie": "origin=1; Path=/", "cache-control": "public, max-age=60", vary: "Accept-Encoding" },
      });
    w = await startModule(path.relative(root, path.join(dir, "index.js")), {}, { extra: { outboundService } });
  });
  after(async () => {
    await w?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const whoami = async (value) => (await w.fetch("/whoami", cookie(value))).json();

  async function fresh() {
    const r = await w.fetch("/count");
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { count: 1, isNew: true });
    return sessionCookie(r).value;
  }

  test("a route before the middleware loads no session", async () => {
    const r = await w.fetch("/health");
    assert.deepEqual(await r.json(), { ok: true });
    assert.equal(sessionCookie(r), null);
  });

  test("counts 1, 2 with the cookie; safe cookie attributes and no-store", async () => {
    const r = await w.fetch("/count");
    assert.deepEqual(await r.json(), { count: 1, isNew: true });
    const c = sessionCookie(r);
    assert.ok(c, "the first response sets the session cookie");
    for (const attr of ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"]) assert.ok(c.raw.includes(attr), c.raw);
    assert.match(r.headers.get("cache-control"), /private, no-store/);
    assert.match(r.headers.get("vary"), /Cookie/);
    assert.match(r.headers.get("content-type"), /application\/json/);
    const r2 = await w.fetch("/count", cookie(c.value));
    assert.deepEqual(await r2.json(), { count: 2, isNew: false });
  });

  test("login: regenerate + c.redirect gives 302 with Location and the new cookie; the old id is dead", async () => {
    const old = await fresh();
    const r = await w.fetch("/login?user=ann", cookie(old));
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "/count");
    await r.arrayBuffer();
    const c = sessionCookie(r);
    assert.ok(c, "the redirect carries the new session cookie");
    assert.notEqual(idOf(c.value), idOf(old));
    assert.match(r.headers.get("cache-control"), /no-store/);
    assert.deepEqual((await whoami(c.value)).data, { count: 1, user: "ann" });
    const dead = await whoami(old);
    assert.equal(dead.isNew, true, "the old id starts a new session");
    assert.deepEqual(dead.data, {});
  });

  test("a redirect with immutable headers (Response.redirect) is copied and carries the cookie", async () => {
    const old = await fresh();
    const r = await w.fetch("/login-fetch-style", cookie(old));
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "https://app.example/whoami");
    await r.arrayBuffer();
    const c = sessionCookie(r);
    assert.ok(c);
    assert.notEqual(idOf(c.value), idOf(old));
    assert.match(r.headers.get("cache-control"), /no-store/);
    assert.deepEqual((await whoami(c.value)).data, { count: 1, user: "immutable" });
  });

  test("a fetch() response (immutable headers, its own Set-Cookie and public cache-control) keeps both cookies and becomes private", async () => {
    const r = await w.fetch("/proxied");
    assert.equal(await r.text(), "from origin");
    const c = sessionCookie(r);
    assert.ok(c, "the session cookie is added");
    assert.ok(c.all.includes("origin=1; Path=/"), c.all.join(" | "));
    assert.equal(r.headers.get("cache-control"), "private, no-store");
    assert.match(r.headers.get("vary"), /Cookie/);
    assert.deepEqual((await whoami(c.value)).data, { proxied: true });
  });

  test("logout: destroy expires the cookie (Max-Age=0) and deletes the data", async () => {
    const v = await fresh();
    const r = await w.fetch("/logout", cookie(v));
    assert.deepEqual(await r.json(), { ok: true });
    assert.match(sessionCookie(r).raw, /Max-Age=0/);
    assert.equal((await whoami(v)).isNew, true);
    await eventually(async () => (await w.kv.get(`session:${idOf(v)}`)) === null, 5000, "KV entry deleted");
  });

  test("a handler that throws after set: 500, nothing saved, the lock free at once", async () => {
    const v = await fresh();
    for (const route of ["/boom", "/boom-string", "/twice"]) {
      const r = await w.fetch(route, cookie(v));
      await r.arrayBuffer();
      assert.equal(r.status, 500, route);
      assert.equal(sessionCookie(r), null, `${route}: no cookie from an abandoned session`);
      const started = Date.now();
      const next = await w.fetch("/whoami", cookie(v));
      const elapsed = Date.now() - started;
      assert.equal(next.status, 200, `${route}: the next request gets the lock`);
      // defaults: a held lock would make the next request wait SESSION_LOCK_TIMEOUT (10 s)
      assert.ok(elapsed < 5000, `${route}: lock released at once, not at its timeout (${elapsed} ms)`);
      const body = await next.json();
      assert.equal(body.isNew, false, route);
      assert.deepEqual(body.data, { count: 1 }, `${route}: nothing saved`);
    }
    const log = w.output.join("\n");
    assert.match(log, /onError: boom after set/);
    assert.match(log, /session\(\) ran twice for one request/);
  });

  test("20 concurrent increments through the middleware give exactly 21 (implicit locking)", async () => {
    const v = await fresh();
    const one = async () => {
      const r = await w.fetch("/count", cookie(v));
      assert.equal(r.status, 200);
      return (await r.json()).count;
    };
    const counts = await Promise.all(Array.from({ length: 20 }, one));
    assert.deepEqual(counts.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 2), "each request saw its own count");
    assert.equal((await whoami(v)).data.count, 21);
  });

  test("the scheduled handler's sweep leaves live sessions", async () => {
    const live = await fresh();
    await eventually(async () => (await w.kv.get(`session:${idOf(live)}`)) !== null);
    await w.scheduled();
    assert.ok((await kvSessionKeys(w.kv)).some((k) => k.name === `session:${idOf(live)}`));
  });
});
