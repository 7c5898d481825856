// What each kind of request is billed for, counted on the real build and checked against the
// table in docs/cost.md ("## Billed operations"), so the table cannot drift from the code.
//
// The proxy runs unchanged behind tests/e2e/faults.mjs (no faults set), whose shim counts
// every billed operation: Worker invocations, top-level RPC calls on SessionLock stubs (one
// RPC session, one billed Durable Object request each), alarm runs (billed requests too), the
// objects' storage rows read and written, and KV reads, writes, deletes and lists. Each case
// zeroes the counters, sends exactly one request (or runs one sweep), waits until the
// objects' deferred work has finished (the alarm's KV mirror write, a lease stub's release, a
// purge), and compares the counts with its row of the table. Worker CPU time and Durable
// Object duration are not counted here (see docs/cost.md).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { startOrigin } from "./origin.mjs";
import { root, sessionCookie, idOf, eventually, sleep } from "./harness.mjs";
import { startFaultyWorker } from "./faults.mjs";

const NAME = "__Host-session";
const cookie = (value) => ({ headers: { cookie: `${NAME}=${value}` } });

/** docs/cost.md's table: its header cells, and the field of billed() each column holds. */
const COLUMNS = [
  ["Worker requests", "worker"],
  ["DO calls", "calls"],
  ["DO alarms", "alarms"],
  ["DO rows written", "rowsWritten"],
  ["DO rows read", "rowsRead"],
  ["KV reads", "kvReads"],
  ["KV writes", "kvWrites"],
  ["KV deletes", "kvDeletes"],
  ["KV lists", "kvLists"],
];
const HEADER = ["request", ...COLUMNS.map(([h]) => h)];

/** Sessions per bulk case; docs/cost.md gives those rows per 1000 sessions. */
const N = 20;
const PER_1000 = 1000 / N;

const cells = (line) => line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());

/** The document holding the table, and the heading of its section. */
const COST_DOC = "docs/cost.md";
const COST_SECTION = "Billed operations";

/** The rows of docs/cost.md's table: { <request>: { worker, calls, ... } }. */
function costTable() {
  const text = readFileSync(path.join(root, COST_DOC), "utf8");
  const section = text.split(/^## /m).find((s) => s.startsWith(`${COST_SECTION}\n`));
  assert.ok(section, `${COST_DOC} has a "## ${COST_SECTION}" section`);
  const lines = section.split("\n");
  const at = lines.findIndex((l) => l.startsWith("|") && cells(l)[0] === HEADER[0]);
  assert.ok(at >= 0, `the ${COST_SECTION} section has the table of operations`);
  assert.deepEqual(cells(lines[at]), HEADER, "the cost table's columns");
  const rows = {};
  for (const line of lines.slice(at + 2)) {
    if (!line.startsWith("|")) break;
    const [name, ...values] = cells(line);
    assert.equal(values.length, COLUMNS.length, `cost row "${name}" has every column`);
    rows[name] = Object.fromEntries(
      COLUMNS.map(([, key], i) => {
        assert.match(values[i], /^\d+$/, `cost row "${name}", ${COLUMNS[i][0]}: a plain number`);
        return [key, Number(values[i])];
      })
    );
  }
  return rows;
}

let table;
/** The table's row `name` (the table is read once, on first use). */
function expected(name) {
  table ??= costTable();
  assert.ok(table[name], `${COST_DOC}'s cost table has a row "${name}"`);
  return table[name];
}

/** The billed operations in a counts() answer, as the table's columns. */
function billed(c) {
  return {
    worker: c.worker.fetch + c.worker.scheduled,
    calls: c.do.fetch.billed,
    alarms: c.do.alarms,
    rowsWritten: c.do.storage.rowsWritten,
    rowsRead: c.do.storage.rowsRead,
    kvReads: c.kv.get.calls + c.kv.getWithMetadata.calls,
    kvWrites: c.kv.put.calls,
    kvDeletes: c.kv.delete.calls,
    kvLists: c.kv.list.calls,
  };
}

const scale = (row, k) => Object.fromEntries(Object.entries(row).map(([f, v]) => [f, v * k]));
const minus = (a, b) => Object.fromEntries(Object.entries(a).map(([f, v]) => [f, v - b[f]]));

/**
 * Waits until the objects' work has settled and returns the counts: no RPC call or alarm
 * running, no alarm due within `horizonMs` (a mirror write is scheduled at most a second
 * ahead; the next alarm after it is the session's expiry), and the counts unchanged for
 * `quietMs` (work the worker hands to waitUntil, such as an abandoned request's release, may
 * still land after its response).
 */
async function settle(w, { horizonMs = 2000, quietMs = 500, timeoutMs = 20000 } = {}) {
  let last = "";
  let since = 0;
  return eventually(
    async () => {
      const c = await w.faults.counts();
      const now = Date.now();
      const due = Object.values(c.do.pendingAlarms).some((at) => at <= now + horizonMs);
      const text = JSON.stringify(c);
      if (c.do.inFlight > 0 || due || text !== last) {
        last = text;
        since = now;
        return null;
      }
      return now - since >= quietMs ? c : null;
    },
    timeoutMs,
    "the objects' work settled"
  );
}

/** Zeroes the counters, runs `act` once, waits for the work to settle; the billed counts. */
async function measure(t, w, act, settleOpts) {
  await w.faults.reset();
  const result = await act();
  const c = await settle(w, settleOpts);
  assert.equal(c.do.fetch.injected + Object.values(c.kv).reduce((n, op) => n + op.injected, 0), 0, "no faults");
  const row = billed(c);
  // what each object did, for whoever reads the test output when a row changes
  t.diagnostic(`billed: ${JSON.stringify(row)}`);
  for (const [key, o] of Object.entries(c.do.objects))
    t.diagnostic(`object ${key.slice(0, 8)}: rpc ${JSON.stringify(o.rpc)} alarms ${o.alarms} storage ${JSON.stringify(o.storage)}`);
  return { row, result, counts: c };
}

/** Sends a request and reads its body (so the response is complete). */
async function send(w, p, init) {
  const res = await w.fetch(p, init);
  assert.equal(res.status, 200, `${p}: status`);
  const body = await res.json();
  return { res, body, cookie: sessionCookie(res) };
}

/** A new session holding data, with its object's work done (the first mirror write). */
async function newSession(w, settleOpts) {
  const { cookie: c } = await send(w, "/set?user=ann");
  assert.ok(c, "the new session got a cookie");
  await settle(w, settleOpts);
  return c.value;
}

describe("billed operations per request (default settings)", () => {
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    w = await startFaultyWorker(origin.url);
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  test("anonymous: no cookie, the origin stores nothing", async (t) => {
    const { row, result } = await measure(t, w, () => send(w, "/echo"));
    assert.equal(result.cookie, null);
    assert.deepEqual(row, expected("anonymous"));
  });

  test("new session: no cookie, the origin stores data", async (t) => {
    const { row, result } = await measure(t, w, () => send(w, "/set?user=ann"));
    assert.ok(result.cookie, "a session cookie");
    assert.deepEqual(row, expected("new session"));
  });

  test("read: a session, nothing changed", async (t) => {
    const v = await newSession(w);
    const { row, result } = await measure(t, w, () => send(w, "/echo", cookie(v)));
    assert.deepEqual(result.body.data, { user: "ann" });
    assert.deepEqual(row, expected("read"));
  });

  test("write: a session, the origin sends X-Session-Update", async (t) => {
    const v = await newSession(w);
    const { row } = await measure(t, w, () => send(w, "/set?user=bob", cookie(v)));
    assert.deepEqual(row, expected("write"));
  });

  test("regenerate: a session, the origin asks for a new id", async (t) => {
    const v = await newSession(w);
    const { row, result } = await measure(t, w, () => send(w, "/regenerate", cookie(v)));
    assert.notEqual(idOf(result.cookie.value), idOf(v), "a new id");
    assert.deepEqual(row, expected("regenerate"));
  });

  test("destroy: a session, the origin destroys it", async (t) => {
    const v = await newSession(w);
    const { row, result } = await measure(t, w, () => send(w, "/destroy", cookie(v)));
    assert.match(result.cookie.raw, /Max-Age=0/);
    assert.deepEqual(row, expected("destroy"));
  });

  test("login bound to a user: a session, the origin regenerates it with X-Session-User", async (t) => {
    const v = await newSession(w);
    const { row, result } = await measure(t, w, () => send(w, "/login-user?user=cost-login&client=c", cookie(v)));
    assert.notEqual(idOf(result.cookie.value), idOf(v), "a new id");
    assert.deepEqual(row, expected("login bound to a user"));
  });

  test("log out 2 other devices: the origin sends destroy-user-others", async (t) => {
    const logins = [];
    for (let i = 0; i < 3; i++) {
      const v = await newSession(w);
      logins.push((await send(w, "/login-user?user=cost-others", cookie(v))).cookie.value);
    }
    await settle(w);
    const { row, result } = await measure(t, w, () => send(w, "/logout-others", cookie(logins[0])));
    assert.equal(result.cookie, null, "the current session keeps its cookie");
    assert.deepEqual(row, expected("log out 2 other devices"));
  });

  // An object evicted from memory (idle, or moved) starts again from its storage: the record
  // is read back, and its first write stores who it is again.
  test("read, cold object: as read, the object evicted since its last request", async (t) => {
    const v = await newSession(w);
    await w.faults.resetObject(idOf(v));
    const { row, result } = await measure(t, w, () => send(w, "/echo", cookie(v)));
    assert.deepEqual(result.body.data, { user: "ann" });
    assert.deepEqual(row, expected("read, cold object"));
  });

  test("write, cold object: as write, the object evicted since its last request", async (t) => {
    const v = await newSession(w);
    await w.faults.resetObject(idOf(v));
    const { row } = await measure(t, w, () => send(w, "/set?user=bob", cookie(v)));
    assert.deepEqual(row, expected("write, cold object"));
  });
});

describe("billed operations per request (SESSION_LOCKING=none)", () => {
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    w = await startFaultyWorker(origin.url, { SESSION_LOCKING: "none" });
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  test("read, locking none: no lock to take or release", async (t) => {
    const v = await newSession(w);
    const { row, result } = await measure(t, w, () => send(w, "/echo", cookie(v)));
    assert.deepEqual(result.body.data, { user: "ann" });
    assert.deepEqual(row, expected("read, locking none"));
  });

  test("write, locking none: the load, then the change", async (t) => {
    const v = await newSession(w);
    const { row } = await measure(t, w, () => send(w, "/set?user=bob", cookie(v)));
    assert.deepEqual(row, expected("write, locking none"));
  });
});

// Sessions that expire within the test: a short idle timeout. Alarms of these sessions fall
// due at their expiry, so "settled" looks at most a second ahead until they are meant to run.
describe("billed operations of expiry and the sweep (SESSION_TIMEOUT=8s)", () => {
  const TIMEOUT_MS = 8000;
  const soon = { horizonMs: 1000 };
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    w = await startFaultyWorker(origin.url, { SESSION_TIMEOUT: "8s" });
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  test("sessions expiring: each object's alarm purges its session at expiry", async (t) => {
    // concurrently, so every expiry is still well ahead once they are all mirrored
    const created = await Promise.all(Array.from({ length: N }, () => send(w, "/set?user=ann")));
    assert.ok(created.every((r) => r.cookie), "every session got a cookie");
    await settle(w, soon);
    // no request after this: the objects' own alarms do all that follows
    const { row } = await measure(t, w, async () => {}, { horizonMs: Infinity, timeoutMs: TIMEOUT_MS + 15000 });
    assert.equal(row.alarms, N, "one alarm per session");
    assert.deepEqual(scale(row, PER_1000), expected("1000 sessions expiring"));
  });

  test("sweep run: lists the keys (none left to delete: the alarms did it)", async (t) => {
    const { row } = await measure(t, w, () => w.scheduled(), soon);
    assert.deepEqual(row, expected("sweep run"));
  });

  test("sessions swept: expired keys whose objects hold nothing (the alarm's purge missed them)", async (t) => {
    // as a lagging mirror or an earlier deployment leaves them: a KV key with expired
    // metadata, no object state (written to KV directly, so not counted)
    const past = Date.now() - 60_000;
    for (let i = 0; i < N; i++) {
      const id = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
      await w.kv.put(`session:${id}`, "{}", { metadata: { exp: past, ver: 1 }, expirationTtl: 3600 });
    }
    const { row } = await measure(t, w, () => w.scheduled(), soon);
    assert.equal(row.calls, N, "one /sweep call per expired key");
    assert.deepEqual(scale(minus(row, expected("sweep run")), PER_1000), expected("1000 expired sessions swept"));
  });

  // last in this worker: its session expires (and is purged) after the test
  test("read, expiry refresh due: a read after a tenth of the idle timeout writes the new expiry", async (t) => {
    const v = await newSession(w, soon);
    await sleep(TIMEOUT_MS / 10 + 200); // the refresh falls due after a tenth of the timeout
    const { row } = await measure(t, w, () => send(w, "/echo", cookie(v)), soon);
    assert.deepEqual(row, expected("read, expiry refresh due"));
  });
});
