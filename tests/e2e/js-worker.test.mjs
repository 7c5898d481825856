// End-to-end tests of the JavaScript package through the example JS worker
// (examples/js-worker), bundled by wrangler as a user's worker would be, on real workerd with
// real KV and Durable Objects.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { root, startModule, sign, sessionCookie, idOf, kvSessionKeys, eventually, logTag } from "./harness.mjs";

const NAME = "__Host-session";
const cookie = (value) => ({ headers: { cookie: `${NAME}=${value}` } });

/** Bundles a worker with `wrangler deploy --dry-run`, the way it would be uploaded, into a
 * git-ignored dist/ next to its config (workerd wants modules below the working directory). */
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

const start = (dir) => startModule(path.relative(root, path.join(dir, "index.js")));

describe("JavaScript package via the example worker", () => {
  let dir, w;
  before(async () => {
    dir = bundle("examples/js-worker/wrangler.toml");
    w = await start(dir);
  });
  after(async () => {
    await w?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function fresh() {
    const r = await w.fetch("/count");
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.equal(body.count, 1);
    assert.equal(body.isNew, true);
    return sessionCookie(r).value;
  }

  test("cookie issued with safe attributes; the session persists", async () => {
    const r = await w.fetch("/count");
    const c = sessionCookie(r);
    for (const attr of ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"]) assert.ok(c.raw.includes(attr), c.raw);
    assert.match(r.headers.get("cache-control"), /private/);
    await r.arrayBuffer();
    const r2 = await w.fetch("/count", cookie(c.value));
    assert.deepEqual(await r2.json(), { count: 2, isNew: false });
  });

  test("forged and unknown ids are replaced (fixation rejection)", async () => {
    const unknown = sign("Q".repeat(32));
    for (const v of [unknown, "Q".repeat(32), `${"Q".repeat(32)}.${"A".repeat(43)}`]) {
      const r = await w.fetch("/whoami", cookie(v));
      const body = await r.json();
      assert.equal(body.isNew, true);
      assert.notEqual(body.id, "Q".repeat(32));
      const c = sessionCookie(r);
      if (c) assert.notEqual(idOf(c.value), "Q".repeat(32));
    }
  });

  test("regenerate on login: data carried, old id dead; destroy on logout", async () => {
    const old = await fresh();
    const login = await w.fetch("/login?user=ann", cookie(old));
    await login.arrayBuffer();
    const now = sessionCookie(login).value;
    assert.notEqual(idOf(now), idOf(old));
    assert.deepEqual((await (await w.fetch("/whoami", cookie(now))).json()).data, { count: 1, user: "ann" });
    assert.equal((await (await w.fetch("/whoami", cookie(old))).json()).isNew, true);
    const logout = await w.fetch("/logout", cookie(now));
    await logout.arrayBuffer();
    assert.match(sessionCookie(logout).raw, /Max-Age=0/);
    assert.equal((await (await w.fetch("/whoami", cookie(now))).json()).isNew, true);
  });

  test("login = regenerate + 302 redirect: the redirect carries the new cookie; the old id is dead", async () => {
    const old = await fresh();
    const r = await w.fetch("/login-redirect?user=ann", cookie(old));
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "https://app.example/whoami");
    await r.arrayBuffer();
    const c = sessionCookie(r);
    assert.ok(c, "the redirect carries the new session cookie");
    assert.notEqual(idOf(c.value), idOf(old));
    assert.match(r.headers.get("cache-control"), /no-store/);
    assert.deepEqual((await (await w.fetch("/whoami", cookie(c.value))).json()).data, { count: 1, user: "ann" });
    assert.equal((await (await w.fetch("/whoami", cookie(old))).json()).isNew, true);
  });

  test("remember me: setTimeout gives the session its own timeout and a long-lived cookie", async () => {
    const v = await fresh();
    const r = await w.fetch("/remember", cookie(v));
    await r.arrayBuffer();
    const c = sessionCookie(r);
    assert.match(c.raw, /Max-Age=2592000/, c.raw);
    const rec = await eventually(async () => await w.kv.get(`session:${idOf(c.value)}`, "json"), 5000, "mirror");
    assert.equal(rec.timeout_ms, 30 * 86_400_000);
    assert.deepEqual((await (await w.fetch("/whoami", cookie(c.value))).json()).data, { count: 1, user: "ann" });
  });

  test("flash values are read once, across requests", async () => {
    const v = await fresh();
    await (await w.fetch("/flash?set=saved", cookie(v))).arrayBuffer();
    assert.deepEqual(await (await w.fetch("/flash", cookie(v))).json(), { notice: "saved" });
    assert.deepEqual(await (await w.fetch("/flash", cookie(v))).json(), { notice: null });
    assert.deepEqual((await (await w.fetch("/whoami", cookie(v))).json()).data, { count: 1 });
  });

  test("set replaces an object whole and set(k, {}) stores {}", async () => {
    const v = await fresh();
    await (await w.fetch("/nested?step=1", cookie(v))).arrayBuffer();
    const r = await w.fetch("/nested?step=2", cookie(v));
    assert.deepEqual((await r.json()).data, { count: 1, profile: { id: 2 }, empty: {} });
    assert.deepEqual((await (await w.fetch("/whoami", cookie(v))).json()).data, { count: 1, profile: { id: 2 }, empty: {} });
  });

  test("a handler returning a non-Response, a used body or a non-string key: TypeError, nothing saved, lock free at once", async () => {
    const v = await fresh();
    for (const route of ["/not-a-response", "/used-body", "/bad-key"]) {
      const r = await w.fetch(route, cookie(v));
      await r.arrayBuffer();
      assert.equal(r.status, 500, route);
      const started = Date.now();
      const next = await w.fetch("/whoami", cookie(v));
      assert.equal(next.status, 200, `${route}: the next request gets the lock`);
      assert.ok(Date.now() - started < 5000, `${route}: the lock was released at once, not at its lease's end`);
      assert.deepEqual((await next.json()).data, { count: 1 }, `${route}: nothing saved`);
    }
    const log = w.output.join("\n");
    assert.match(log, /must return a Response, got Object/);
    assert.match(log, /body was already read/);
    assert.match(log, /session keys must be strings, got number/);
  });

  test("50 concurrent increments (implicit locking) give exactly 50", async () => {
    const v = await fresh();
    const rs = await Promise.all(Array.from({ length: 49 }, () => w.fetch("/count", cookie(v))));
    for (const r of rs) assert.equal(r.status, 200), await r.arrayBuffer();
    assert.equal((await (await w.fetch("/whoami", cookie(v))).json()).data.count, 50);
  });

  test("explicit lock API: 50 concurrent acquire/increment/release give exactly 50", async () => {
    const first = await w.fetch("/explicit");
    assert.deepEqual(await first.json(), { count: 1 });
    const v = sessionCookie(first).value;
    const rs = await Promise.all(Array.from({ length: 49 }, () => w.fetch("/explicit", cookie(v))));
    for (const r of rs) assert.equal(r.status, 200), await r.arrayBuffer();
    assert.equal((await (await w.fetch("/whoami", cookie(v))).json()).data.count, 50);
  });

  test("lifecycle hooks: created, regenerated, destroyed and expired, with hashed ids only", async () => {
    const audit = () =>
      w.output.filter((l) => l.includes("audit {")).map((l) => JSON.parse(l.slice(l.indexOf("audit ") + 6)));
    const seen = audit().length;
    const first = await w.fetch("/count");
    await first.arrayBuffer();
    const v = sessionCookie(first).value;
    const login = await w.fetch("/login?user=ann", cookie(v));
    await login.arrayBuffer();
    const now = sessionCookie(login).value;
    const out = await w.fetch("/logout", cookie(now));
    await out.arrayBuffer();
    const dead = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
    await w.kv.put(`session:${dead}`, "{}", { metadata: { exp: Date.now() - 1000, ver: 1 }, expirationTtl: 3600 });
    await w.scheduled();
    const events = await eventually(async () => (audit().length >= seen + 4 ? audit().slice(seen) : null), 5000, "audit lines");
    assert.deepEqual(events, [
      { type: "created", id: logTag(idOf(v)) },
      { type: "regenerated", id: logTag(idOf(now)), previous: logTag(idOf(v)) },
      { type: "destroyed", id: logTag(idOf(now)) },
      { type: "expired", id: logTag(dead) },
    ]);
    assert.ok(!w.output.some((l) => l.includes(idOf(v)) || l.includes(idOf(now))), "raw ids never logged");
  });

  test("the sweep runs from the scheduled handler", async () => {
    const live = await fresh();
    await eventually(async () => (await w.kv.get(`session:${idOf(live)}`)) !== null);
    const dead = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
    await w.kv.put(`session:${dead}`, "{}", { metadata: { exp: Date.now() - 1000, ver: 1 }, expirationTtl: 3600 });
    await w.scheduled();
    const keys = (await kvSessionKeys(w.kv)).map((k) => k.name);
    assert.ok(!keys.includes(`session:${dead}`));
    assert.ok(keys.includes(`session:${idOf(live)}`));
  });
});

describe("JavaScript options", () => {
  let dir, w;
  before(async () => {
    dir = bundle("tests/e2e/js-options/wrangler.toml");
    w = await start(dir);
  });
  after(async () => {
    await w?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const check = async (options) => {
    const r = await w.fetch("/", { method: "POST", body: JSON.stringify(options) });
    return { status: r.status, text: await r.text() };
  };

  test("good options construct", async () => {
    assert.deepEqual(await check({ SESSION_TIMEOUT: "30m", SESSION_LOCKING: "explicit", SESSION_COOKIE_SECURE: true }), {
      status: 200,
      text: "ok",
    });
  });

  test("bad options give the documented error", async () => {
    const cases = [
      [{ SESSION_TIMEOUT: "abc" }, 'SESSION_TIMEOUT must be a duration like 60m or 90s, got "abc"'],
      [{ SESSION_LOCKING: "sometimes" }, "SESSION_LOCKING must be implicit, early, explicit or none"],
      [{ SESSION_TIMEOUT_MINUTES: 5 }, "unknown option SESSION_TIMEOUT_MINUTES"],
      [{ SESSION_SECRET: "short" }, "each secret must be at least 32"],
      [{ SESSION_COOKIE_DOMAIN: "example.com" }, "__Host- prefix"],
    ];
    for (const [options, message] of cases) {
      const { status, text } = await check(options);
      assert.equal(status, 400, JSON.stringify(options));
      assert.ok(text.includes(message), `${text} should contain ${message}`);
      assert.ok(text.startsWith("Error: "), text);
    }
  });
});
