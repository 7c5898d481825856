// End-to-end tests of the Rust library API through the example workers-rs worker
// (examples/rust-worker, built by scripts/build.sh), on real workerd with real KV and
// Durable Objects.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startModule, sign, sessionCookie, idOf } from "./harness.mjs";

const cookie = (value) => ({ headers: { cookie: `__Host-session=${value}` } });

describe("Rust library via the example worker", () => {
  let w;
  before(async () => {
    w = await startModule("examples/rust-worker/build/index.js");
  });
  after(async () => {
    await w?.dispose();
  });

  test("cookie issued, data kept, unknown ids replaced", async () => {
    const r = await w.fetch("/count");
    assert.deepEqual(await r.json(), { count: 1, isNew: true });
    const v = sessionCookie(r).value;
    assert.deepEqual(await (await w.fetch("/count", cookie(v))).json(), { count: 2, isNew: false });
    const forged = await w.fetch("/whoami", cookie(sign("Z".repeat(32))));
    assert.equal((await forged.json()).isNew, true);
  });

  test("explicit locking: 30 concurrent acquire/increment/release give exactly 30", async () => {
    const first = await w.fetch("/explicit");
    assert.deepEqual(await first.json(), { count: 1 });
    const v = sessionCookie(first).value;
    const rs = await Promise.all(Array.from({ length: 29 }, () => w.fetch("/explicit", cookie(v))));
    for (const r of rs) assert.equal(r.status, 200), await r.arrayBuffer();
    assert.equal((await (await w.fetch("/whoami", cookie(v))).json()).data.count, 30);
  });

  test("login = regenerate + 302 redirect: the redirect carries the new cookie; the old id is dead", async () => {
    const first = await w.fetch("/count");
    await first.arrayBuffer();
    const old = sessionCookie(first).value;
    const r = await w.fetch("/login-redirect", cookie(old));
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "https://app.example/whoami");
    await r.arrayBuffer();
    const c = sessionCookie(r);
    assert.ok(c, "the redirect carries the new session cookie");
    assert.notEqual(idOf(c.value), idOf(old));
    assert.deepEqual((await (await w.fetch("/whoami", cookie(c.value))).json()).data, { count: 1, user: "ann" });
    assert.equal((await (await w.fetch("/whoami", cookie(old))).json()).isNew, true);
  });

  test("with_session keeps a session error's status: data over SESSION_MAX_BYTES is 507, nothing saved", async () => {
    const first = await w.fetch("/count");
    await first.arrayBuffer();
    const v = sessionCookie(first).value;
    const r = await w.fetch("/too-big", cookie(v));
    assert.equal(r.status, 507);
    assert.equal(await r.text(), "session data too large; nothing was saved");
    assert.deepEqual((await (await w.fetch("/whoami", cookie(v))).json()).data, { count: 1 });
  });

  test("regenerate and destroy", async () => {
    const first = await w.fetch("/count");
    await first.arrayBuffer();
    const old = sessionCookie(first).value;
    const login = await w.fetch("/login", cookie(old));
    await login.arrayBuffer();
    const now = sessionCookie(login).value;
    assert.notEqual(idOf(now), idOf(old));
    assert.deepEqual((await (await w.fetch("/whoami", cookie(now))).json()).data, { count: 1, user: "ann" });
    assert.equal((await (await w.fetch("/whoami", cookie(old))).json()).isNew, true);
    const out = await w.fetch("/logout", cookie(now));
    await out.arrayBuffer();
    assert.match(sessionCookie(out).raw, /Max-Age=0/);
  });

  test("per-user index: three logins, log out other devices from the first, one left", async () => {
    const cookies = [];
    for (let i = 0; i < 3; i++) {
      const r = await w.fetch("/login-user?user=rusty");
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      cookies.push(sessionCookie(r).value);
    }
    const listed = await (await w.fetch("/sessions", cookie(cookies[0]))).json();
    assert.equal(listed.length, 3);
    assert.equal(listed.filter((s) => s.current).length, 1);
    const out = await (await w.fetch("/logout-others", cookie(cookies[0]))).json();
    assert.deepEqual(out, { destroyed: 2 });
    const left = await (await w.fetch("/sessions", cookie(cookies[0]))).json();
    assert.equal(left.length, 1);
    assert.equal(left[0].client, "rust example");
    const gone = await (await w.fetch("/whoami", cookie(cookies[1]))).json();
    assert.equal(gone.isNew, true, "another device is logged out at once");
  });
});
