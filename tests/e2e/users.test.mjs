// "Log out everywhere": the per-user index of live sessions, on the real package, workerd, KV
// and Durable Objects.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startModule, startWorker, sessionCookie, eventually } from "./harness.mjs";
import { startOrigin } from "./origin.mjs";

const NAME = "__Host-session";

/** A browser: keeps its session cookie. */
function device(w) {
  let cookie = null;
  return {
    async get(path) {
      const res = await w.fetch(path, cookie ? { headers: { cookie } } : {});
      const set = sessionCookie(res);
      if (set) cookie = set.value ? `${NAME}=${set.value}` : null;
      const body = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
      return { status: res.status, body };
    },
    get cookie() {
      return cookie;
    },
  };
}

describe("per-user index (JavaScript package)", () => {
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    w = await startModule("tests/e2e/user-worker.mjs", { SESSION_USER_CAP: "8", ORIGIN: origin.url });
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  test("5 devices log in; log out others from device 3 leaves only device 3; the others get fresh anonymous sessions", async () => {
    const devices = Array.from({ length: 5 }, () => device(w));
    for (const [i, d] of devices.entries()) {
      const r = await d.get(`/login?user=ann&client=device-${i + 1}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.user, "ann");
    }
    const listed = (await devices[2].get("/list")).body;
    assert.equal(listed.length, 5);
    assert.deepEqual(listed.map((s) => s.client).sort(), ["device-1", "device-2", "device-3", "device-4", "device-5"]);
    assert.deepEqual(listed.filter((s) => s.current).map((s) => s.client), ["device-3"]);
    for (const s of listed) assert.match(s.id, /^[0-9a-f]{12}$/, "hashes, never ids");
    const out = await devices[2].get("/logout-others");
    assert.deepEqual(out.body, { destroyed: 4 });
    for (const [i, d] of devices.entries()) {
      const me = (await d.get("/me")).body;
      if (i === 2) assert.deepEqual(me, { isNew: false, user: "ann", n: 0 });
      else assert.deepEqual(me, { isNew: true, user: null, n: null }, `device ${i + 1} is logged out at once`);
    }
    const after = (await devices[2].get("/list")).body;
    assert.equal(after.length, 1);
    assert.equal(after[0].client, "device-3");
    assert.equal(after[0].current, true);
  });

  test("a regenerate keeps the user's entry (one entry, new id); destroy unlists it", async () => {
    const d = device(w);
    await d.get("/login?user=bob&client=laptop");
    const first = (await d.get("/list")).body;
    await d.get("/login?user=bob"); // logs in again: regenerate, same user
    const second = (await d.get("/list")).body;
    assert.equal(second.length, 1);
    assert.notEqual(second[0].id, first[0].id, "the new id is listed");
    assert.equal(second[0].created, first[0].created, "creation time kept");
    assert.equal(second[0].client, "laptop", "the client description is kept");
  });

  test("logins racing a log out everywhere: no session that existed before it survives; later ones are listed", async () => {
    const before = Array.from({ length: 4 }, () => device(w));
    for (const d of before) await d.get("/login?user=cy");
    const racing = Array.from({ length: 4 }, () => device(w));
    const [destroyed] = await Promise.all([
      w.fetch("/destroy-user?user=cy").then((r) => r.json()),
      ...racing.map((d) => d.get("/login?user=cy")),
    ]);
    assert.ok(destroyed.destroyed >= 4, `destroyed ${destroyed.destroyed}`);
    for (const d of before) assert.equal((await d.get("/me")).body.user, null, "a session from before is dead");
    // every racing login is either dead (destroyed) or alive and listed
    const alive = [];
    for (const d of racing) {
      const me = (await d.get("/me")).body;
      if (me.user === "cy") alive.push(d);
    }
    if (alive.length > 0) {
      const listed = (await alive[0].get("/list")).body;
      assert.equal(listed.length, alive.length, "every live session is listed");
    }
    // a login after it is listed
    const late = device(w);
    await late.get("/login?user=cy");
    assert.equal((await late.get("/list")).body.length, alive.length + 1);
  });

  test("a request holding a session's lock cannot write after its user's sessions were destroyed", async () => {
    const d = device(w);
    await d.get("/login?user=dee");
    const held = w.fetch("/hold-incr?gate=dee", { headers: { cookie: d.cookie } });
    await origin.arrived("dee", 1); // loaded, lock held, parked
    const out = await (await w.fetch("/destroy-user?user=dee")).json();
    assert.deepEqual(out, { destroyed: 1 }, "the destroy does not wait for the holder");
    origin.open("dee");
    const res = await held;
    assert.equal(res.status, 409, "the holder's write is fenced off");
    await res.arrayBuffer();
    const r = await d.get("/me");
    assert.deepEqual(r.body, { isNew: true, user: null, n: null }, "nothing was saved; the session stays dead");
  });

  test("the cap: binding a 9th session destroys the oldest (SESSION_USER_CAP=8)", async () => {
    const devices = Array.from({ length: 9 }, () => device(w));
    for (const [i, d] of devices.entries()) await d.get(`/login?user=eve&client=d${i}`);
    const listed = (await devices[8].get("/list")).body;
    assert.equal(listed.length, 8);
    assert.ok(!listed.some((s) => s.client === "d0"), "the oldest went");
    await eventually(async () => (await devices[0].get("/me")).body.user === null, 3000, "the oldest session is dead");
    assert.equal((await devices[1].get("/me")).body.user, "eve");
  });

  test("user ids are validated", async () => {
    const d = device(w);
    const r = await d.get("/login?user=" + encodeURIComponent("not a token"));
    assert.equal(r.status, 500);
  });
});

describe("per-user index: expiry", () => {
  let w;
  before(async () => {
    w = await startModule("tests/e2e/user-worker.mjs", { SESSION_TIMEOUT: "2s" });
  });
  after(async () => {
    await w?.dispose();
  });

  test("an expired session leaves the list (the object's alarm), and never comes back", async () => {
    const a = device(w);
    const b = device(w);
    await a.get("/login?user=fay");
    await b.get("/login?user=fay");
    assert.equal((await a.get("/list")).body.length, 2);
    // keep a alive, let b expire
    await eventually(
      async () => {
        await a.get("/incr");
        return (await a.get("/list")).body.length === 1;
      },
      8000,
      "b unlisted after its expiry"
    );
    assert.equal((await b.get("/me")).body.user, null);
  });
});

describe("per-user index (proxy)", () => {
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    w = await startWorker(origin.url);
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  test("X-Session-User binds at login; destroy-user-others and destroy-user log out the other devices, then all", async () => {
    const devices = Array.from({ length: 3 }, () => device(w));
    for (const [i, d] of devices.entries()) {
      const r = await d.get(`/login-user?user=gus&client=dev${i}`);
      assert.equal(r.status, 200);
    }
    const others = await devices[0].get("/logout-others");
    assert.equal(others.status, 200);
    const me = async (d) => (await d.get("/echo")).body;
    assert.deepEqual((await me(devices[0])).data, { user: "gus" }, "device 0 keeps its session");
    for (const d of devices.slice(1)) assert.equal((await me(d)).headers["x-session-new"], "1", "logged out at once");
    // a second login, then log out everywhere from it
    const again = device(w);
    await again.get("/login-user?user=gus");
    const all = await again.get("/logout-everywhere");
    assert.equal(all.status, 200);
    assert.equal(again.cookie, null, "the current session's cookie is removed");
    assert.equal((await me(devices[0])).headers["x-session-new"], "1");
  });

  test("a bad user id or a user action on an unbound session is a 502 that saves nothing", async () => {
    const d = device(w);
    const bad = await d.get("/login-user?user=" + encodeURIComponent("a b"));
    assert.equal(bad.status, 502);
    const unbound = await d.get("/logout-others");
    assert.equal(unbound.status, 502);
  });
});
