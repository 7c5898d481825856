// Fault-injection tests: the real build on workerd behind tests/e2e/faults.mjs, which makes
// chosen calls to the KV namespace SESSIONS and the SessionLock namespace SESSION_LOCKS fail.
// The Durable Object tests pin the behaviour of the build they were written against (see the
// note on that describe block); retry-policy-dependent expectations are marked "retry build".
import { test, describe, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { startOrigin, unb64 } from "./origin.mjs";
import { sessionCookie, idOf, logTag, mirrorWrites, eventually, sleep } from "./harness.mjs";
import { startFaultyWorker } from "./faults.mjs";

const NAME = "__Host-session";
const cookie = (value) => ({ headers: { cookie: `${NAME}=${value}` } });
const kvKey = (value) => `session:${idOf(value)}`;
/** Output lines since `from` that match `re`. */
const linesSince = (output, from, re) => output.slice(from).filter((l) => re.test(l));

describe("fault injection on KV and Durable Objects", () => {
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    // short lock timings, so an orphaned lease (a dropped /begin answer) clears quickly;
    // one key per sweep page, so a sweep lists several times
    w = await startFaultyWorker(origin.url, {
      SESSION_LOCK_TIMEOUT: "400ms",
      SESSION_LOCK_LEASE: "1500ms",
      SESSION_SWEEP_PAGE: "1",
    });
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });
  beforeEach(async () => {
    await w.faults.reset();
  });

  /** A new session holding `data` (or, with `path`, what that origin route sets), mirrored
   * to KV (waited for, with no faults on); then the counters are zeroed. */
  async function newSession(data = { user: "ann" }, path = `/set?${new URLSearchParams(data)}`) {
    const r = await w.fetch(path);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const v = sessionCookie(r).value;
    await eventually(async () => (await w.kv.get(kvKey(v))) !== null, 5000, "first mirror write");
    await w.faults.reset();
    return v;
  }
  /** The session's data as the proxy hands it to the origin (read through the object). */
  async function dataOf(v) {
    const r = await w.fetch("/echo", cookie(v));
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.equal(body.headers["x-session-new"], undefined, "the session still exists");
    return unb64(body.headers["x-session-data"]);
  }

  describe("the harness", () => {
    test("runs the real worker unchanged; counts every binding call, none injected without faults", async () => {
      const r = await w.fetch("/set?user=ann");
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      const v = sessionCookie(r).value;
      await eventually(async () => (await w.kv.get(kvKey(v))) !== null, 5000, "mirror write");
      const c = await w.faults.counts();
      // a new session: one /apply to its object, whose alarm then writes the mirror
      assert.deepEqual(c.do.fetch, { calls: 1, billed: 1, injected: 0, before: 0, after: 0, paths: { "/apply": 1 } });
      assert.deepEqual(c.kv.put, { calls: 1, injected: 0 }, "the object's mirror write went through the wrapper");
      for (const op of ["get", "getWithMetadata", "list", "delete"]) assert.deepEqual(c.kv[op], { calls: 0, injected: 0 });
      assert.deepEqual(await w.faults.events(), []);
    });

    test("faults switch on and off at runtime; nth/times select calls; counters and events record them", async () => {
      const v = await newSession();
      await w.faults.set({ do: { fetch: { path: "/begin", nth: 2 } } });
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const r = await w.fetch("/echo", cookie(v));
        statuses.push(r.status);
        await r.arrayBuffer();
      }
      assert.deepEqual(statuses, [200, 503, 200], "only the 2nd /begin failed");
      await w.faults.set({ do: { fetch: { path: "/begin", times: 1 } } });
      assert.equal((await w.fetch("/echo", cookie(v))).status, 503);
      assert.equal((await w.fetch("/echo", cookie(v))).status, 200, "times: 1 is spent");
      await w.faults.set({ do: { fetch: { path: "/begin" } } });
      assert.equal((await w.fetch("/echo", cookie(v))).status, 503);
      await w.faults.clear();
      assert.equal((await w.fetch("/echo", cookie(v))).status, 200, "cleared");
      const c = (await w.faults.counts()).do.fetch;
      assert.equal(c.injected, 3);
      assert.equal(c.before, 3);
      assert.equal(c.after, 0);
      const ev = await w.faults.events();
      assert.deepEqual(ev.map((e) => [e.op, e.subject, e.when]), Array(3).fill(["do.fetch", "/begin", "before"]));
      await w.faults.reset();
      assert.equal((await w.faults.counts()).do.fetch.calls, 0, "reset zeroes the counters");
      assert.deepEqual(await w.faults.events(), []);
    });

    test("bad specs are refused before reaching the worker", async () => {
      await assert.rejects(w.faults.set({ kv: { putt: {} } }), /unknown KV operation putt/);
      await assert.rejects(w.faults.set({ kv: { put: { error: "500" } } }), /must be "throw" or "429"/);
      await assert.rejects(w.faults.set({ do: { fetch: { when: "during" } } }), /"before" or "after"/);
      await assert.rejects(w.faults.set({ do: { fetch: { pth: "/apply" } } }), /unknown rule field pth/);
      await assert.rejects(w.faults.set({ r2: {} }), /unknown section r2/);
    });
  });

  describe("KV faults", () => {
    // Only what the sweep needs reaches KV at once (a new session, a deletion, an earlier
    // expiry): a new session's mirror write is the one these faults hit.
    test("put throwing: a new session's mirror write is deferred and retried; it catches up once the fault clears", async () => {
      await w.faults.set({ kv: { put: { error: "throw" } } });
      const from = w.output.length;
      const r = await w.fetch("/set?user=bob");
      assert.equal(r.status, 200, "the client does not see the mirror's failure");
      await r.arrayBuffer();
      const v = sessionCookie(r).value;
      const deferred = new RegExp(`kv mirror write for ${logTag(idOf(v))} deferred: .*injected fault: KV PUT failed`);
      // retried about once a second while the fault lasts
      await eventually(() => linesSince(w.output, from, deferred).length >= 2, 5000, "two deferred mirror writes");
      assert.equal(await w.kv.get(kvKey(v)), null, "KV does not hold it yet");
      assert.deepEqual(await dataOf(v), { user: "bob" }, "the object's storage has the session");
      const c = await w.faults.counts();
      assert.ok(c.kv.put.injected >= 2, `injected ${c.kv.put.injected}`);
      assert.equal(c.kv.put.calls, c.kv.put.injected, "every put failed");

      const writesBefore = mirrorWrites(w.output, idOf(v)).length;
      await w.faults.clear();
      await eventually(() => mirrorWrites(w.output, idOf(v)).length > writesBefore, 10000, "mirror catches up");
      assert.match(await w.kv.get(kvKey(v)), /bob/, "KV now holds the new session");
    });

    test("put failing with 429 for 2 s: deferred with KV's rate-limit error, then catches up by itself", async () => {
      await w.faults.set({ kv: { put: { error: "429", forMs: 2000 } } });
      const t0 = Date.now();
      const from = w.output.length;
      const r = await w.fetch("/set?user=carol");
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      const v = sessionCookie(r).value;
      // no clear(): the alarm's once-a-second retries outlast the fault window
      await eventually(() => mirrorWrites(w.output, idOf(v)).length > 0, 10000, "mirror catches up");
      assert.ok(Date.now() - t0 >= 1900, "not before the 429 window closed");
      assert.match(await w.kv.get(kvKey(v)), /carol/);
      const deferred = linesSince(w.output, from, /kv mirror write for [0-9a-f]{12} deferred: .*429 Too Many Requests/);
      const { injected } = (await w.faults.counts()).kv.put;
      assert.ok(injected >= 1 && injected <= 3, `injected ${injected} puts in the 2 s window`);
      assert.equal(deferred.length, injected, "one deferred line per refused put");
    });

    test("delete failing: the purge of a destroyed session is deferred (KV key kept) until the fault clears", async () => {
      const v = await newSession({ user: "dan" });
      await w.faults.set({ kv: { delete: { error: "throw" } } });
      const from = w.output.length;
      const r = await w.fetch("/destroy", cookie(v));
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      assert.match(sessionCookie(r).raw, /Max-Age=0/);
      const deferred = new RegExp(`kv mirror delete for ${logTag(idOf(v))} deferred: .*injected fault: KV DELETE failed`);
      await eventually(() => linesSince(w.output, from, deferred).length >= 2, 5000, "two deferred mirror deletes");
      assert.notEqual(await w.kv.get(kvKey(v)), null, "the KV mirror of the destroyed session is still there");
      const probe = await (await w.fetch("/echo", cookie(v))).json();
      assert.equal(probe.headers["x-session-new"], "1", "but the session itself is gone");
      await w.faults.clear();
      await eventually(async () => (await w.kv.get(kvKey(v))) === null, 10000, "KV mirror purged");
      assert.ok((await w.faults.counts()).kv.delete.injected >= 2);
    });

    test("list failing on the 2nd call: the sweep run fails after its first page and saves no cursor; the next run finishes", async () => {
      await w.scheduled(); // settle: nothing expired yet, no cursor
      assert.equal(await w.kv.get("sweep:cursor"), null);
      // three expired sessions as a lagging mirror leaves them (no object has them)
      const past = Date.now() - 60_000;
      // ids that list before any random id ("-" is the lowest base64url character)
      const dead = ["-", "0", "1"].map((c) => "-".repeat(31) + c);
      for (const id of dead)
        await w.kv.put(`session:${id}`, "{}", { metadata: { exp: past, ver: 1 }, expirationTtl: 3600 });
      await w.faults.reset();
      await w.faults.set({ kv: { list: { nth: 2 } } });
      const from = w.output.length;
      await w.scheduled();
      await eventually(() => linesSince(w.output, from, /session sweep failed: .*injected fault: KV LIST failed/).length === 1, 3000, "sweep failure logged");
      const c = await w.faults.counts();
      assert.deepEqual(c.kv.list, { calls: 2, injected: 1 });
      const left = [];
      for (const id of dead) if ((await w.kv.get(`session:${id}`)) !== null) left.push(id);
      // one key per page: the first page's key (in list order, the first dead id) was swept
      // before the failing list; the run then stopped
      assert.deepEqual(left, dead.slice(1), "only the first page was swept");
      assert.equal(await w.kv.get("sweep:cursor"), null, "a failed run saves no cursor");

      await w.faults.clear();
      for (let i = 0; i < 5 && (await Promise.all(dead.map((id) => w.kv.get(`session:${id}`)))).some((x) => x !== null); i++)
        await w.scheduled();
      for (const id of dead) assert.equal(await w.kv.get(`session:${id}`), null, "swept after the fault cleared");
      assert.ok(linesSince(w.output, from, /session sweep: pages=/).length >= 1, "a later run succeeded");
    });

    test("get failing: the sweep cannot read its cursor and fails before listing", async () => {
      await w.faults.set({ kv: { get: { key: "sweep:" } } });
      const from = w.output.length;
      await w.scheduled();
      await eventually(() => linesSince(w.output, from, /session sweep failed: .*injected fault: KV GET failed/).length === 1, 3000, "sweep failure logged");
      const c = await w.faults.counts();
      assert.deepEqual(c.kv.get, { calls: 1, injected: 1 });
      assert.equal(c.kv.list.calls, 0, "it never listed");
      assert.deepEqual((await w.faults.events()).map((e) => e.subject), ["sweep:cursor"]);
    });
  });

  // Pinned against the build of the retry work in progress (DoBackend retries a call whose
  // error is marked `retryable`, up to 3 attempts, 50 then 200 ms apart; never one marked
  // `overloaded`; every call carries a call id so the object applies a repeated /apply once;
  // a failed locking /begin is followed by a /release by that call id). Before that work no
  // call was retried and a lost /begin answer left its lease held: see the notes per test.
  describe("Durable Object fetch faults", () => {
    test("/apply failing BEFORE the object: 503 'session storage unavailable', stored data unchanged, lease not stuck", async () => {
      const v = await newSession({ user: "ann" });
      await w.faults.set({ do: { fetch: { path: "/apply", when: "before" } } });
      const r = await w.fetch("/set?user=eve", cookie(v));
      assert.equal(r.status, 503);
      assert.equal(await r.text(), "session storage unavailable");
      const c = (await w.faults.counts()).do.fetch;
      // the call on the lease's stub failed unmarked (its RPC session may have broken with
      // the object), so the object itself is asked once; that failed too, and an unmarked
      // error is not retried beyond that
      assert.equal(c.before, 2);
      assert.equal(c.paths["/apply"], 2);
      assert.equal(c.paths["/release"], 1, "the failed write releases its lease explicitly");
      assert.equal(c.billed, 3, "the begin, the call asked of the object itself, the release");
      await w.faults.clear();
      assert.deepEqual(await dataOf(v), { user: "ann" }, "the object never saw the write");
      // the /begin lease is not left held (else: 503 "session busy" after the 400 ms wait)
      const again = await w.fetch("/set?user=eve", cookie(v));
      assert.equal(again.status, 200);
      await again.arrayBuffer();
      assert.deepEqual(await dataOf(v), { user: "eve" });
    });

    test("/begin failing BEFORE the object: 503, the origin is not called, data unchanged", async () => {
      const v = await newSession({ user: "ann" });
      await w.faults.set({ do: { fetch: { path: "/begin", when: "before" } } });
      const r = await w.fetch("/set?user=frank", cookie(v));
      assert.equal(r.status, 503);
      assert.equal(await r.text(), "session storage unavailable");
      const c = (await w.faults.counts()).do.fetch;
      assert.equal(c.paths["/apply"], undefined, "never got as far as /apply");
      // retry build: the failed locking /begin is followed by a /release by its call id
      // (before it: no /release)
      assert.deepEqual(c.paths, { "/begin": 1, "/release": 1 });
      await w.faults.clear();
      assert.deepEqual(await dataOf(v), { user: "ann" });
    });

    test("/apply failing AFTER the object applied it: the client gets 503 but the write is in storage and mirrored", async () => {
      const v = await newSession({ user: "ann" });
      await w.faults.set({ do: { fetch: { path: "/apply", when: "after" } } });
      const r = await w.fetch("/set?user=gail", cookie(v));
      // the dropped answer is reported as a storage failure although the write landed
      assert.equal(r.status, 503);
      assert.equal(await r.text(), "session storage unavailable");
      const c = (await w.faults.counts()).do.fetch;
      // asked once more of the object itself (same call id: answered, not applied twice)
      assert.equal(c.after, 2);
      assert.equal(c.paths["/apply"], 2);
      await w.faults.clear();
      assert.deepEqual(await dataOf(v), { user: "gail" }, "the write is in the object's storage");
    });

    test("err.retryable on /apply AFTER the object applied it: retried, 200, applied once (retry build; before it: 503)", async () => {
      const v = await newSession(null, "/incr"); // { count: 1 }
      await w.faults.set({ do: { fetch: { path: "/apply", when: "after", retryable: true, times: 1 } } });
      const r = await w.fetch("/incr", cookie(v));
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      const c = (await w.faults.counts()).do.fetch;
      assert.equal(c.injected, 1);
      assert.equal(c.paths["/apply"], 2, "the lost answer's call was repeated");
      assert.deepEqual(await dataOf(v), { count: 2 }, "the repeated /apply was applied once");
      const [e] = await w.faults.events();
      assert.equal(e.retryable, true);
    });

    test("err.retryable on /apply BEFORE the object: 3 attempts in all; 2 failures are absorbed, 3 give a 503 (retry build)", async () => {
      const v = await newSession(null, "/incr");
      await w.faults.set({ do: { fetch: { path: "/apply", when: "before", retryable: true, times: 2 } } });
      let r = await w.fetch("/incr", cookie(v));
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      assert.equal((await w.faults.counts()).do.fetch.paths["/apply"], 3);
      assert.deepEqual(await dataOf(v), { count: 2 });

      await w.faults.reset();
      await w.faults.set({ do: { fetch: { path: "/apply", when: "before", retryable: true, times: 3 } } });
      r = await w.fetch("/incr", cookie(v));
      assert.equal(r.status, 503);
      assert.equal(await r.text(), "session storage unavailable");
      const c = (await w.faults.counts()).do.fetch;
      assert.equal(c.paths["/apply"], 3, "gives up after the 3rd attempt");
      assert.equal(c.paths["/release"], 1, "and releases the lease it held");
      await w.faults.clear();
      assert.deepEqual(await dataOf(v), { count: 2 }, "no attempt reached the object");
    });

    test("err.overloaded on /apply AFTER the object applied it: never retried, 503, the write landed", async () => {
      const v = await newSession(null, "/incr");
      await w.faults.set({ do: { fetch: { path: "/apply", when: "after", overloaded: true, retryable: true, times: 1 } } });
      const r = await w.fetch("/incr", cookie(v));
      assert.equal(r.status, 503);
      await r.arrayBuffer();
      const c = (await w.faults.counts()).do.fetch;
      assert.equal(c.paths["/apply"], 1, "overloaded wins over retryable: no retry");
      assert.deepEqual(await dataOf(v), { count: 2 });
      const [e] = await w.faults.events();
      assert.equal(e.overloaded, true);
    });

    for (const flag of ["retryable", "overloaded"]) {
      const retried = flag === "retryable";
      test(`err.${flag} on /begin BEFORE the object, once: ${retried ? "retried, 200 (retry build; before it: 503)" : "not retried, 503"}`, async () => {
        const v = await newSession({ user: "ann" });
        await w.faults.set({ do: { fetch: { path: "/begin", when: "before", [flag]: true, times: 1 } } });
        const r = await w.fetch("/set?user=hal", cookie(v));
        assert.equal(r.status, retried ? 200 : 503);
        await r.arrayBuffer();
        const c = (await w.faults.counts()).do.fetch;
        assert.equal(c.paths["/begin"], retried ? 2 : 1);
        await w.faults.clear();
        assert.deepEqual(await dataOf(v), { user: retried ? "hal" : "ann" });
      });
    }

    test("/begin failing AFTER the object took the lock: 503, and the lease is released at once (retry build)", async () => {
      const v = await newSession({ user: "ann" });
      await w.faults.set({ do: { fetch: { path: "/begin", when: "after", times: 1 } } });
      const r = await w.fetch("/set?user=ivy", cookie(v));
      assert.equal(r.status, 503);
      assert.equal(await r.text(), "session storage unavailable");
      assert.deepEqual((await w.faults.counts()).do.fetch.paths, { "/begin": 1, "/release": 1 });
      // the lease the object granted was released by call id: the next request does not wait.
      // (Before the retry work nobody released it: the next request waited out the lock
      // timeout, 503 "session busy, try again", until the lease expired.)
      const ok = await w.fetch("/set?user=ivy", cookie(v));
      assert.equal(ok.status, 200, "not 503 'session busy, try again' (lock wait 400 ms < lease 1.5 s)");
      await ok.arrayBuffer();
      assert.deepEqual(await dataOf(v), { user: "ivy" });
    });
  });
});
