// A crash mid-load: workerd is killed (SIGKILL, no shutdown of any kind) while clients are
// incrementing counters in a few sessions, then started again on the same persisted Durable
// Object and KV state. What was acknowledged must have survived, nothing may be half-written,
// no lock may stay held, and expiry must still reach every session.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startOrigin, unb64 } from "./origin.mjs";
import { startWorker, sessionCookie, idOf, eventually, kvSessionKeys, workerdPids } from "./harness.mjs";

const NAME = "__Host-session";
const cookie = (value) => ({ headers: { cookie: `${NAME}=${value}` } });
const SESSIONS = 4;
const CLIENTS = 12;
const KILL_AFTER = 60; // acknowledged increments before the kill
// short expiry so the final check sees every session expire; a lock held at the kill would
// hold the next request for the 2 s lock timeout and answer 503
const VARS = { SESSION_TIMEOUT: "6s", SESSION_LOCK_TIMEOUT: "2s", SESSION_LOCK_LEASE: "4s" };

describe("workerd killed mid-load and restarted on its persisted state", () => {
  let origin, dir, w;
  const start = () =>
    startWorker(origin.url, VARS, {
      extra: { durableObjectsPersist: path.join(dir, "do"), kvPersist: path.join(dir, "kv") },
    });
  before(async () => {
    origin = await startOrigin();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-sessions-crash-"));
  });
  after(async () => {
    await w?.dispose().catch(() => {});
    await origin?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The session's counter as the proxy hands it to the origin, or null for a new session. */
  async function countOf(v) {
    const r = await w.fetch("/echo", cookie(v));
    assert.equal(r.status, 200);
    const body = await r.json();
    if (body.headers["x-session-new"] !== undefined) return null;
    assert.equal(body.headers["x-session-id"], idOf(v));
    return unb64(body.headers["x-session-data"]).count;
  }

  test("every acknowledged increment survives, no lock stays held, every session still expires", async (t) => {
    w = await start();
    const before = new Set(workerdPids());
    assert.ok(before.size >= 1, "workerd runs under this process");
    const values = [];
    for (let i = 0; i < SESSIONS; i++) {
      const r = await w.fetch("/incr");
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      values.push(sessionCookie(r).value);
    }
    const acked = new Array(SESSIONS).fill(1); // the creating increment of each
    const attempted = new Array(SESSIONS).fill(1);
    let total = 0;
    let killed = false;
    let kill;
    const killedNow = new Promise((r) => (kill = r));
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let k = 0; !killed; k++) {
          const s = (c + k) % SESSIONS;
          attempted[s]++;
          let r;
          try {
            r = await w.fetch("/incr", cookie(values[s]));
            await r.arrayBuffer();
          } catch {
            return; // the kill cut this request off: not acknowledged
          }
          if (killed) return; // answered after the kill was ordered: counted neither way
          assert.equal(r.status, 200, `increment answered ${r.status} before the kill`);
          acked[s]++;
          if (++total === KILL_AFTER) {
            killed = true;
            // the whole workerd process group, mid-flight for the other clients
            for (const pid of workerdPids()) process.kill(pid, "SIGKILL");
            kill();
          }
        }
      })
    );
    await killedNow;
    assert.ok(killed && total >= KILL_AFTER);
    await eventually(() => workerdPids().length === 0, 5000, "workerd gone");
    await w.dispose().catch(() => {}); // its runtime is dead already

    w = await start();
    // (1) each counter holds every acknowledged increment, and only increments that were sent
    for (let s = 0; s < SESSIONS; s++) {
      const n = await countOf(values[s]);
      t.diagnostic(`session ${s}: ${acked[s]} acknowledged, ${n} stored, ${attempted[s]} sent`);
      assert.equal(typeof n, "number", `session ${s} survived whole, count ${n}`);
      assert.ok(n >= acked[s], `session ${s}: ${n} stored < ${acked[s]} acknowledged`);
      assert.ok(n <= attempted[s], `session ${s}: ${n} stored > ${attempted[s]} sent`);
    }
    // (2) no lock survived the crash: one more increment per session goes through at once
    // (a held lock would make it wait out the 2 s lock timeout and answer 503) and adds one
    for (let s = 0; s < SESSIONS; s++) {
      const n = await countOf(values[s]);
      const r = await w.fetch("/incr", cookie(values[s]));
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      assert.equal(await countOf(values[s]), n + 1);
    }
    // (3) KV, the sweep's index, holds every live session
    const live = values.map((v) => `session:${idOf(v)}`).sort();
    await eventually(async () => {
      const keys = (await kvSessionKeys(w.kv)).map((k) => k.name);
      return live.every((k) => keys.includes(k));
    }, 5000, "KV holds every live session after the restart");
    // (4) with no more requests, every session expires: the objects' alarms and the sweep
    // remove each from KV, and each old cookie starts a new session
    await eventually(async () => {
      await w.scheduled();
      const keys = (await kvSessionKeys(w.kv)).map((k) => k.name);
      return live.every((k) => !keys.includes(k));
    }, 20000, "every expired session gone from KV");
    for (let s = 0; s < SESSIONS; s++) assert.equal(await countOf(values[s]), null, `session ${s} expired`);
  });
});
