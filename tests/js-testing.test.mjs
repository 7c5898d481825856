// edge-sessions/testing: the real package (wasm engine, real SessionLock) on in-memory
// bindings in plain Node, no workerd. Run: node --test tests/js-testing.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createTestSessions } from "../js/testing.js";

const counter = async (session) => {
  const count = (session.get("count") ?? 0) + 1;
  session.set("count", count);
  return Response.json({ count, isNew: session.isNew });
};

test("a counter counts 1, then 2 with the cookie", async () => {
  const t = await createTestSessions();
  const r1 = await t.sessions.withSession(new Request("https://app.test/"), t.ctx, counter);
  assert.deepEqual(await r1.json(), { count: 1, isNew: true });
  assert.ok(t.sessionCookie(r1));
  const r2 = await t.sessions.withSession(t.request("https://app.test/", r1), t.ctx, counter);
  assert.deepEqual(await r2.json(), { count: 2, isNew: false });
  await t.settle();
  assert.deepEqual(t.errors, []);
});

test("regenerate with a redirect carries a new cookie, and the old id is dead", async () => {
  const t = await createTestSessions();
  const r1 = await t.sessions.withSession(new Request("https://app.test/"), t.ctx, counter);
  const oldCookie = t.sessionCookie(r1);
  const login = await t.sessions.withSession(t.request("https://app.test/login", r1), t.ctx, (s) => {
    s.regenerate();
    s.set("user", "ann");
    return Response.redirect("https://app.test/whoami", 302);
  });
  assert.equal(login.status, 302);
  assert.equal(login.headers.get("location"), "https://app.test/whoami");
  const newCookie = t.sessionCookie(login);
  assert.ok(newCookie);
  assert.notEqual(newCookie, oldCookie);

  const whoami = (s) => Response.json({ user: s.get("user") ?? null, count: s.get("count") ?? null, isNew: s.isNew });
  const me = await t.sessions.withSession(t.request("https://app.test/whoami", login), t.ctx, whoami);
  assert.deepEqual(await me.json(), { user: "ann", count: 1, isNew: false });

  const old = new Request("https://app.test/whoami", { headers: { cookie: `__Host-session=${oldCookie}` } });
  const stale = await t.sessions.withSession(old, t.ctx, whoami);
  assert.deepEqual(await stale.json(), { user: null, count: null, isNew: true });
  await t.settle();
});

test("destroy expires the cookie and the data", async () => {
  const t = await createTestSessions();
  const r1 = await t.sessions.withSession(new Request("https://app.test/"), t.ctx, counter);
  const cookie = t.sessionCookie(r1);
  const out = await t.sessions.withSession(t.request("https://app.test/logout", r1), t.ctx, (s) => {
    s.destroy();
    return new Response("bye");
  });
  assert.equal(t.sessionCookie(out), null); // set, and expired
  assert.match(out.headers.get("set-cookie"), /Max-Age=0/i);
  const again = new Request("https://app.test/", { headers: { cookie: `__Host-session=${cookie}` } });
  const r3 = await t.sessions.withSession(again, t.ctx, counter);
  assert.deepEqual(await r3.json(), { count: 1, isNew: true });
  await t.settle();
});

test("10 concurrent increments on one session give exactly 10 (the FIFO lock)", async () => {
  const t = await createTestSessions();
  const r1 = await t.sessions.withSession(new Request("https://app.test/"), t.ctx, (s) => {
    s.set("count", 0);
    return new Response("ok");
  });
  const slow = async (s) => {
    const count = s.get("count") + 1;
    await new Promise((r) => setTimeout(r, 5)); // a read-modify-write that would lose updates unlocked
    s.set("count", count);
    return Response.json({ count });
  };
  const results = await Promise.all(
    Array.from({ length: 10 }, () => t.sessions.withSession(t.request("https://app.test/", r1), t.ctx, slow)),
  );
  const counts = await Promise.all(results.map(async (r) => (await r.json()).count));
  assert.deepEqual(counts.toSorted((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const last = await t.sessions.withSession(t.request("https://app.test/", r1), t.ctx, (s) => Response.json(s.toJSON()));
  assert.deepEqual(await last.json(), { count: 10 });
  await t.settle();
});

test("a flash is read once", async () => {
  const t = await createTestSessions();
  const flash = (s) => Response.json({ notice: s.getFlash("notice") ?? null });
  const r1 = await t.sessions.withSession(new Request("https://app.test/"), t.ctx, (s) => {
    s.flash("notice", "saved");
    return Response.redirect("https://app.test/next", 303);
  });
  const r2 = await t.sessions.withSession(t.request("https://app.test/next", r1), t.ctx, flash);
  assert.deepEqual(await r2.json(), { notice: "saved" });
  const r3 = await t.sessions.withSession(t.request("https://app.test/next", r2), t.ctx, flash);
  assert.deepEqual(await r3.json(), { notice: null });
  await t.settle();
});

test("the lock object's alarm mirrors the session to KV, and the sweep reads it", async () => {
  const t = await createTestSessions();
  const r1 = await t.sessions.withSession(new Request("https://app.test/"), t.ctx, counter);
  await t.settle();
  await t.locks.runAlarms();
  const mirrored = Object.values(t.kv.dump()).map((v) => JSON.parse(v).data);
  assert.deepEqual(mirrored, [{ count: 1 }]);
  assert.match(await t.sessions.sweep(), /^session sweep: pages=1 listed=1 /);
  assert.ok(t.sessionCookie(r1));
  assert.deepEqual(t.errors, []);
});

test("options and env vars reach the engine", async () => {
  const t = await createTestSessions({ options: { SESSION_COOKIE_NAME: "sid", SESSION_COOKIE_SECURE: false } });
  const r1 = await t.sessions.withSession(new Request("http://app.test/"), t.ctx, counter);
  assert.ok(t.sessionCookie(r1));
  assert.match(r1.headers.get("set-cookie"), /^sid=/);
  const r2 = await t.sessions.withSession(t.request("http://app.test/", r1), t.ctx, counter);
  assert.deepEqual(await r2.json(), { count: 2, isNew: false });
  await assert.rejects(createTestSessions({ options: { SESSION_TIMEOUT: "abc" } }), /SESSION_TIMEOUT/);
});

test("with --import, a worker module may import edge-sessions statically", () => {
  // what `node --import edge-sessions/testing --test` does for a user's suite
  const testing = fileURLToPath(new URL("../js/testing.js", import.meta.url));
  const pkg = new URL("../js/index.js", import.meta.url).href;
  const script = `
    import { Sessions, SessionLock } from ${JSON.stringify(pkg)};
    import { createTestSessions } from ${JSON.stringify(new URL("../js/testing.js", import.meta.url).href)};
    const t = await createTestSessions();
    const same = t.Sessions === Sessions && t.module.SessionLock === SessionLock;
    const r = await new Sessions(t.env).withSession(new Request("https://app.test/"), t.ctx, (s) => new Response(String(s.isNew)));
    console.log(same, await r.text());
  `;
  const out = execFileSync(process.execPath, ["--import", testing, "--input-type=module", "-e", script]).toString();
  assert.equal(out.trim(), "true true");
});

test("log out other devices works on the in-memory bindings too", async () => {
  const t = await createTestSessions();
  const login = (client) =>
    t.sessions.withSession(new Request("https://app.test/login"), t.ctx, (s) => {
      s.setUser("ann", { client });
      return new Response("ok");
    });
  const phone = await login("phone");
  const laptop = await login("laptop");
  const keep = await t.sessions.load(t.request("https://app.test/", laptop));
  assert.equal(keep.user, "ann");
  const listed = await t.sessions.listUser("ann", { current: keep });
  assert.deepEqual(listed.map((s) => [s.client, s.current]).sort(), [["laptop", true], ["phone", false]]);
  assert.equal(await t.sessions.destroyUser("ann", { except: keep }), 1);
  await t.sessions.abandon(keep);
  const gone = await t.sessions.load(t.request("https://app.test/", phone));
  assert.equal(gone.isNew, true, "the phone is logged out");
  await t.sessions.abandon(gone);
  assert.equal((await t.sessions.listUser("ann")).length, 1);
  await assert.rejects(() => t.sessions.listUser(undefined), TypeError);
  await t.settle();
  assert.deepEqual(t.errors, []);
});
