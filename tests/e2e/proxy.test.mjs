// End-to-end tests of the proxy worker: real wasm build, real workerd (Miniflare), real local
// KV and Durable Objects, and a real origin HTTP server.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startOrigin, b64, unb64 } from "./origin.mjs";
import { startWorker, sign, sessionCookie, idOf, kvSessionKeys, sleep, eventually, mirrorWrites } from "./harness.mjs";

const NAME = "__Host-session";
const cookieHeader = (value) => ({ headers: { cookie: `${NAME}=${value}` } });

describe("proxy with default settings", () => {
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    w = await startWorker(origin.url);
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  async function newSession(data = { user: "ann" }) {
    const q = new URLSearchParams(data).toString();
    const res = await w.fetch(`/set?${q}`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    return sessionCookie(res).value;
  }

  test("first response issues the cookie with safe attributes; no data means no write", async () => {
    const res = await w.fetch("/echo");
    assert.equal(res.status, 200);
    const body = await res.json();
    const c = sessionCookie(res);
    assert.ok(c, "a session cookie is issued");
    for (const attr of ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=3600"]) {
      assert.ok(c.raw.includes(attr), `${c.raw} has ${attr}`);
    }
    assert.ok(!/Domain=/i.test(c.raw));
    assert.match(res.headers.get("cache-control"), /private/);
    assert.match(res.headers.get("vary"), /Cookie/i);
    assert.equal(body.headers["x-session-new"], "1");
    assert.equal(body.headers["x-session-id"], idOf(c.value));
    assert.deepEqual(unb64(body.headers["x-session-data"]), {});
    assert.equal((await kvSessionKeys(w.kv)).length, 0, "nothing written for an anonymous request");
  });

  test("data set by the origin is stored, mirrored to KV and handed back", async () => {
    const value = await newSession({ user: "ann" });
    const res = await w.fetch("/echo", cookieHeader(value));
    const body = await res.json();
    assert.deepEqual(body.data, { user: "ann" });
    assert.equal(body.headers["x-session-new"], undefined);
    assert.equal(sessionCookie(res), null, "unchanged session: no new cookie");
    const key = `session:${idOf(value)}`;
    const mirrored = await eventually(async () => (await w.kv.getWithMetadata(key, "json")).value);
    assert.deepEqual(mirrored.data, { user: "ann" });
    const { metadata } = await w.kv.getWithMetadata(key);
    assert.ok(metadata.exp > Date.now(), "metadata carries the expiry");
  });

  test("the session cookie is not forwarded to the origin; other cookies are", async () => {
    const value = await newSession();
    const res = await w.fetch("/echo", { headers: { cookie: `theme=dark; ${NAME}=${value}; lang=en` } });
    const body = await res.json();
    assert.equal(body.headers.cookie, "theme=dark; lang=en");
  });

  test("bodies, methods, statuses and redirects pass through unchanged", async () => {
    const value = await newSession();
    const big = "x".repeat(200_000);
    const res = await w.fetch("/echo-body", { method: "POST", body: big, ...cookieHeader(value) });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { method: "POST", body: big });
    const redirect = await w.fetch("/redirect", cookieHeader(value));
    assert.equal(redirect.status, 303);
    assert.equal(redirect.headers.get("location"), "/elsewhere");
    const cookies = await (await w.fetch("/echo", { headers: { cookie: `pref=a,b; ${NAME}=${value}` } })).json();
    assert.equal(cookies.headers.cookie, "pref=a,b");
  });

  test("forged, unsigned, tampered, unknown and malformed ids each get a fresh session", async () => {
    const real = await newSession({ secret: "s3cr3t" });
    const id = idOf(real);
    const otherId = "A".repeat(32);
    const bad = [
      id, // unsigned
      `${id}.${"A".repeat(43)}`, // forged tag
      real.slice(0, -2) + (real.endsWith("AA") ? "BB" : "AA"), // tampered
      `${real}x`, // trailing garbage
      sign(otherId), // validly signed but unknown
      sign(otherId, "a-retired-secret-0123456789abcdef-xyz"), // retired key
      "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "../../../../etc/passwd",
      "",
      "x".repeat(4000),
    ];
    for (const v of bad) {
      const res = await w.fetch("/echo", cookieHeader(v));
      const text = await res.text();
      assert.equal(res.status, 200, `status for ${v.slice(0, 40)}`);
      const body = JSON.parse(text);
      assert.equal(body.headers["x-session-new"], "1", `new session for ${v.slice(0, 40)}`);
      assert.deepEqual(unb64(body.headers["x-session-data"]), {});
      // a fresh id, never the presented one; an id we issued that is gone keeps its cookie
      // until the new session has data (see the regenerate race test)
      assert.notEqual(body.headers["x-session-id"], id);
      assert.notEqual(body.headers["x-session-id"], otherId);
      const c = sessionCookie(res);
      if (v === sign(otherId)) assert.equal(c, null);
      else assert.ok(c && idOf(c.value) !== id && idOf(c.value) !== otherId);
      if (v.length >= 8) {
        const all = [...res.headers].map(([k, val]) => `${k}: ${val}`).join("\n");
        assert.ok(!all.includes(v), "bad value not echoed in headers");
        // the origin echoes its request headers; the bad cookie value must not be among them
        assert.ok(!JSON.stringify(body.headers).includes(v), "bad value not forwarded");
      }
    }
  });

  test("a huge Cookie header with thousands of pairs still finds the session", async () => {
    const value = await newSession({ big: "header" });
    const junk = Array.from({ length: 2000 }, (_, i) => `c${i}=v${i}`).join("; ");
    assert.ok(junk.length > 16 * 1024);
    const res = await w.fetch("/echo", { headers: { cookie: `${junk}; ${NAME}=${value}` } });
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).data, { big: "header" });
  });

  test("duplicate cookies: the first one that verifies wins", async () => {
    const a = await newSession({ who: "a" });
    const forged = `${"B".repeat(32)}.${"C".repeat(43)}`;
    const res = await w.fetch("/echo", { headers: { cookie: `${NAME}=${forged}; ${NAME}=${a}` } });
    assert.deepEqual((await res.json()).data, { who: "a" });
    const res2 = await w.fetch("/echo", { headers: { cookie: `__HOST-session=${a}` } });
    assert.equal((await res2.json()).headers["x-session-new"], "1", "name is case-sensitive");
  });

  test("client-supplied session headers are stripped; origin session headers never reach the client", async () => {
    const res = await w.fetch("/evil", {
      headers: { "X-Session-Id": "attacker", "X-Session-Data": b64({ admin: true }), "X-Session-Update": b64({ admin: true }) },
    });
    const body = await res.json();
    assert.notEqual(body.headers["x-session-id"], "attacker");
    assert.deepEqual(unb64(body.headers["x-session-data"]), {});
    assert.equal(body.headers["x-session-update"], undefined);
    for (const h of ["x-session-id", "x-session-data", "x-session-update", "x-session-action"]) {
      assert.equal(res.headers.get(h), null, `${h} not sent to client`);
    }
    const cookies = res.headers.getSetCookie();
    assert.ok(cookies.some((c) => c.startsWith("theme=dark")), "origin's other cookies pass");
    assert.ok(!cookies.some((c) => c.includes("attacker-chosen")), "origin cannot set the session cookie");
    assert.equal(cookies.filter((c) => c.startsWith(NAME + "=")).length, 1);
  });

  test("50 concurrent increments on one session give exactly 50", async () => {
    const value = await newSession({ n: "start" });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => w.fetch("/incr?key=count", cookieHeader(value)).then(async (r) => (await r.arrayBuffer(), r.status)))
    );
    assert.deepEqual(results, Array(50).fill(200));
    const res = await w.fetch("/echo", cookieHeader(value));
    assert.equal((await res.json()).data.count, 50);
    const key = `session:${idOf(value)}`;
    const mirrored = await eventually(async () => {
      const v = await w.kv.get(key, "json");
      return v && v.data.count === 50 ? v : null;
    });
    assert.ok(mirrored, "KV mirror catches up with the final value");
    // 50 writes in well under a second reached KV as a few writes, at most one per second
    const writes = mirrorWrites(w.output, idOf(value));
    assert.ok(writes.length >= 1 && writes.length < 10, `KV writes: ${writes.length}`);
    for (let i = 1; i < writes.length; i++) {
      assert.ok(writes[i] - writes[i - 1] >= 1000, `KV writes ${writes[i] - writes[i - 1]} ms apart`);
    }
  });

  test("50 concurrent cookie-less requests get 50 distinct ids", async () => {
    const res = await Promise.all(Array.from({ length: 50 }, () => w.fetch("/set?k=v")));
    const ids = new Set();
    for (const r of res) {
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      ids.add(idOf(sessionCookie(r).value));
    }
    assert.equal(ids.size, 50);
  });

  test("regenerate: data carried over, old id rejected at once", async () => {
    const old = await newSession({ user: "bob" });
    const res = await w.fetch("/regenerate?role=admin", cookieHeader(old));
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const fresh = sessionCookie(res).value;
    assert.notEqual(idOf(fresh), idOf(old));
    const viaNew = await (await w.fetch("/echo", cookieHeader(fresh))).json();
    assert.deepEqual(viaNew.data, { user: "bob", role: "admin" });
    const viaOld = await (await w.fetch("/echo", cookieHeader(old))).json();
    assert.equal(viaOld.headers["x-session-new"], "1");
    assert.deepEqual(unb64(viaOld.headers["x-session-data"]), {});
  });

  test("a request queued behind a login's regenerate does not replace the new cookie", async () => {
    const old = await newSession({ user: "anon" });
    const [login, queued] = await Promise.all([
      w.fetch("/regenerate?user=gus&delay=300", cookieHeader(old)),
      sleep(50).then(() => w.fetch("/echo", cookieHeader(old))),
    ]);
    await login.arrayBuffer();
    const fresh = sessionCookie(login).value;
    const body = await queued.json();
    assert.equal(body.headers["x-session-new"], "1", "the old id is dead for the queued request");
    assert.equal(sessionCookie(queued), null, "and it sets no cookie that would log the user out");
    assert.equal((await (await w.fetch("/echo", cookieHeader(fresh))).json()).data.user, "gus");
  });

  test("destroy: data gone server-side, cookie expired, a request queued behind it cannot bring it back", async () => {
    const value = await newSession({ user: "cy" });
    const [destroyed, queued] = await Promise.all([
      w.fetch("/destroy?delay=300", cookieHeader(value)),
      sleep(50).then(() => w.fetch("/set?late=write", cookieHeader(value))),
    ]);
    assert.equal(destroyed.status, 200);
    await destroyed.arrayBuffer();
    const removal = sessionCookie(destroyed).raw;
    assert.match(removal, /Max-Age=0/);
    assert.match(removal, /1970/);
    const queuedBody = await queued.json();
    assert.equal(queuedBody.headers["x-session-new"], "1", "the queued request saw no session");
    const after = await (await w.fetch("/echo", cookieHeader(value))).json();
    assert.equal(after.headers["x-session-new"], "1");
    const gone = await eventually(async () => (await w.kv.get(`session:${idOf(value)}`)) === null);
    assert.ok(gone, "KV copy deleted");
  });

  test("origin down gives 502 and saves nothing", async () => {
    const value = await newSession({ keep: "me" });
    const down = await startWorker("http://127.0.0.1:9", {});
    try {
      const res = await down.fetch("/set?x=1", cookieHeader(value));
      assert.equal(res.status, 502);
      assert.equal(sessionCookie(res), null);
    } finally {
      await down.dispose();
    }
    assert.deepEqual((await (await w.fetch("/echo", cookieHeader(value))).json()).data, { keep: "me" });
  });

  test("a bad patch or action gives 502 and changes nothing; the lock is released", async () => {
    const value = await newSession({ keep: "me" });
    for (const p of ["/badpatch", "/badaction"]) {
      const res = await w.fetch(p, cookieHeader(value));
      assert.equal(res.status, 502);
      const text = await res.text();
      assert.ok(!text.includes("base64") && !text.includes("promote"), "opaque body: " + text);
    }
    const t0 = Date.now();
    const res = await w.fetch("/echo", cookieHeader(value));
    assert.deepEqual((await res.json()).data, { keep: "me" });
    assert.ok(Date.now() - t0 < 5000, "lock was released, not left to its lease");
  });

  test("oversized session data is refused whole", async () => {
    const value = await newSession({ keep: "me" });
    const res = await w.fetch("/big?bytes=40000", cookieHeader(value));
    assert.equal(res.status, 507);
    await res.arrayBuffer();
    assert.deepEqual((await (await w.fetch("/echo", cookieHeader(value))).json()).data, { keep: "me" });
  });

  test("missing SESSION_SECRET or ORIGIN, or a bad var, is a clear 500, never an insecure default", async () => {
    for (const vars of [{ SESSION_SECRET: "" }, { ORIGIN: "" }, { SESSION_SECRET: "short" }, { SESSION_LOCKING: "explicit" }, { SESSION_TIMEOUT: "abc" }]) {
      const bad = await startWorker(origin.url, vars);
      try {
        const res = await bad.fetch("/echo");
        assert.equal(res.status, 500);
        assert.equal(await res.text(), "session service misconfigured");
        assert.equal(res.headers.getSetCookie().length, 0);
      } finally {
        await bad.dispose();
      }
    }
  });
});

describe("proxy with locking none", () => {
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    w = await startWorker(origin.url, { SESSION_LOCKING: "none" });
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  test("concurrent patches to different keys all survive", async () => {
    const first = await w.fetch("/set?seed=1");
    await first.arrayBuffer();
    const value = sessionCookie(first).value;
    const res = await Promise.all(
      Array.from({ length: 30 }, (_, i) => w.fetch(`/set?k${i}=v${i}&delay=${i % 5}`, cookieHeader(value)))
    );
    for (const r of res) {
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    const data = (await (await w.fetch("/echo", cookieHeader(value))).json()).data;
    for (let i = 0; i < 30; i++) assert.equal(data[`k${i}`], `v${i}`);
    assert.equal(data.seed, "1");
  });

  test("a write in flight cannot resurrect a destroyed session", async () => {
    const first = await w.fetch("/set?user=dee");
    await first.arrayBuffer();
    const value = sessionCookie(first).value;
    const [slow, destroy] = await Promise.all([
      w.fetch("/set?late=1&delay=400", cookieHeader(value)),
      sleep(50).then(() => w.fetch("/destroy", cookieHeader(value))),
    ]);
    assert.equal(destroy.status, 200);
    await destroy.arrayBuffer();
    assert.equal(slow.status, 409, "the late write is refused");
    await slow.arrayBuffer();
    const after = await (await w.fetch("/echo", cookieHeader(value))).json();
    assert.equal(after.headers["x-session-new"], "1");
  });
});

describe("proxy with short timeouts", () => {
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    w = await startWorker(origin.url, { SESSION_TIMEOUT: "2s", SESSION_LOCK_LEASE: "500ms", SESSION_LOCK_TIMEOUT: "5s" });
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  test("a holder that stalls past its lease cannot overwrite the next holder's data", async () => {
    const first = await w.fetch("/set?writer=none");
    await first.arrayBuffer();
    const value = sessionCookie(first).value;
    const [stalled, next] = await Promise.all([
      w.fetch("/set?writer=stalled&delay=1500", cookieHeader(value)),
      sleep(100).then(() => w.fetch("/set?writer=next", cookieHeader(value))),
    ]);
    assert.equal(next.status, 200);
    await next.arrayBuffer();
    assert.equal(stalled.status, 409);
    assert.match(await stalled.text(), /not saved/);
    const data = (await (await w.fetch("/echo", cookieHeader(value))).json()).data;
    assert.equal(data.writer, "next");
  });

  test("the idle timeout expires the session on the server", async () => {
    const first = await w.fetch("/set?user=eve");
    await first.arrayBuffer();
    const value = sessionCookie(first).value;
    assert.match(sessionCookie(first).raw, /Max-Age=2\b/);
    await sleep(2200);
    const res = await w.fetch("/echo", cookieHeader(value));
    const body = await res.json();
    assert.equal(body.headers["x-session-new"], "1");
    assert.equal(sessionCookie(res), null, "no empty replacement cookie for a gone session");
    const again = await w.fetch("/set?user=new", cookieHeader(value));
    await again.arrayBuffer();
    assert.notEqual(idOf(sessionCookie(again).value), idOf(value), "new data gets a new id");
  });

  test("activity refreshes the idle timeout", async () => {
    const first = await w.fetch("/set?user=fay");
    await first.arrayBuffer();
    const value = sessionCookie(first).value;
    for (let i = 0; i < 4; i++) {
      await sleep(700);
      const r = await w.fetch("/echo", cookieHeader(value));
      assert.equal((await r.json()).data.user, "fay", `alive after ${(i + 1) * 700} ms`);
    }
  });
});

describe("cron sweep", () => {
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    w = await startWorker(origin.url, { SESSION_SWEEP_PAGE: "10", SESSION_SWEEP_BUDGET: "25" });
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  test("deletes exactly the expired sessions across pages and runs, resuming from its cursor", async () => {
    const live = [];
    for (let i = 0; i < 5; i++) {
      const r = await w.fetch(`/set?live=${i}`);
      await r.arrayBuffer();
      live.push(sessionCookie(r).value);
    }
    for (const v of live) await eventually(async () => (await w.kv.get(`session:${idOf(v)}`)) !== null);
    // expired sessions as an older deployment or a lagging mirror left them
    const past = Date.now() - 60_000;
    const dead = [];
    for (let i = 0; i < 40; i++) {
      const id = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
      dead.push(id);
      await w.kv.put(`session:${id}`, "{}", { metadata: { exp: past, ver: 1 }, expirationTtl: 3600 });
    }
    // a live session whose KV metadata is stale must survive: its object knows better
    const stale = live[0];
    const rec = await w.kv.get(`session:${idOf(stale)}`);
    await w.kv.put(`session:${idOf(stale)}`, rec, { metadata: { exp: past, ver: 0 }, expirationTtl: 3600 });

    // two overlapping runs first: deleting is idempotent, neither fails
    await Promise.all([w.scheduled(), w.scheduled()]);
    let runs = 1;
    while (runs < 20) {
      await w.scheduled();
      runs++;
      const keys = (await kvSessionKeys(w.kv)).map((k) => k.name.slice("session:".length));
      if (!dead.some((d) => keys.includes(d)) && (await w.kv.get("sweep:cursor")) === null) break;
    }
    assert.ok(runs > 1, `a 25-operation budget needs several runs for 46 keys (took ${runs})`);
    const keys = (await kvSessionKeys(w.kv)).map((k) => k.name.slice("session:".length));
    for (const d of dead) assert.ok(!keys.includes(d), "expired key deleted");
    for (const v of live) {
      const body = await (await w.fetch("/echo", cookieHeader(v))).json();
      assert.equal(body.headers["x-session-new"], undefined, "live session survived the sweep");
    }
    const repaired = await eventually(async () => {
      const m = (await w.kv.getWithMetadata(`session:${idOf(stale)}`)).metadata;
      return m && m.exp > Date.now();
    });
    assert.ok(repaired, "stale metadata re-mirrored");
    await w.scheduled(); // an extra, overlapping-in-effect run changes nothing
    assert.equal((await kvSessionKeys(w.kv)).length, live.length);
  });
});
