// One contract for the KV fake (issue 18): the same list of KV behaviours runs against the
// in-memory KV of edge-sessions/testing (js/testing.js MemoryKV) and against a real KV
// namespace in workerd (Miniflare's local KV, reached through its binding).
// Run: node --test --test-concurrency=1 tests/e2e/
//
// The KV calls the package makes, and so what the contract covers:
//   - the expiry sweep (js/engine.js sweepStore, used by Sessions#sweep and the proxy):
//     get(key) as text and put(key, text) with no options for its resume cursor
//     ("sweep:cursor"), delete(key) once a run ends at the start, and
//     list({ prefix, cursor: cursor ?? undefined, limit }) serialized with JSON.stringify, of
//     which the engine reads keys[].name, keys[].metadata ({exp, ver}), list_complete and
//     cursor (an empty cursor counts as none); the cursor is saved in KV and used by a later
//     run, after keys were deleted and added;
//   - the session object's KV mirror (js/lock.js ObjectHost kvPut/kvDelete):
//     put(key, value, { expiration, metadata: JSON.parse(meta) }) with a whole-second
//     expiration at least 61 s ahead (src/engine/object/mod.rs kv_expiration), overwriting the
//     key's previous value, metadata and expiration, and delete(key), also of a key that is
//     already gone. A refused put must leave the previous mirror as it was (it is retried).
// getWithMetadata is not called by the package; it is covered because it is how a test (or a
// user) reads the mirror's metadata back.
//
// Known differences of the fake that the package does not rely on (left as they are):
//   - list limit: the fake clamps it to 1..1000; real KV refuses more than 1000 and (through
//     workerd) treats 0 as no limit. The package passes SESSION_SWEEP_PAGE, 1..1000.
//   - order of keys outside the Basic Multilingual Plane: the fake sorts by UTF-16 code units,
//     real KV by UTF-8 bytes ("\u{10000}" sorts before "\uFFFF" in the fake, after it in real
//     KV). The package's keys are ASCII (prefix + base64url id).
//   - keys over 512 UTF-8 bytes and values over 25 MiB: real KV refuses them, the fake stores
//     them. The package's keys and records are far smaller.
//   - cursors are opaque and encoded differently (the fake: base64url of the last key; local
//     KV: base64); each side only gets back its own cursors.
//   - error messages and error classes of refused calls differ; the package treats any
//     rejection as a backend failure and reads no message.
//   - consistency and expiry timing: the fake is immediately consistent and hides a key the
//     moment it expires; real KV is eventually consistent and removes expired keys later.
//     Nothing here asserts on timing.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import "../../js/testing.js"; // its loader hooks let Node import the package's engine.js

const { sweepStore } = await import("../../js/engine.js");
// KV_CONTRACT_FAKE: another module exporting MemoryKV to hold to the contract (e.g. a
// deliberately broken copy, to see each case fail). Imported after engine.js: a copy of
// testing.js registers the same loader hooks for its own wasm path.
const { MemoryKV } = await import(process.env.KV_CONTRACT_FAKE ?? "../../js/testing.js");

/** The session object's KV calls, as js/lock.js ObjectHost makes them. */
const mirrorOf = (kv) => ({
  put: (key, value, expiration, metadata) => kv.put(key, value, { expiration, metadata: JSON.parse(metadata) }),
  delete: (key) => kv.delete(key),
});

const nowS = () => Math.floor(Date.now() / 1000);
const meta = (exp, ver) => JSON.stringify({ exp, ver });

/** One sweep page as the engine reads it: the package's list call, then its JSON. */
async function page(store, prefix, cursor, limit) {
  const out = JSON.parse(await store.list(prefix, cursor, limit));
  assert.ok(Array.isArray(out.keys), "list: keys is an array");
  assert.equal(typeof out.list_complete, "boolean", "list: list_complete is a boolean");
  return out;
}

/** Every key under `prefix`, page by page as the sweep walks it; checks each page's shape. */
async function listAll(store, prefix, limit) {
  const names = [];
  let cursor = null;
  for (let n = 0; n < 100; n++) {
    const p = await page(store, prefix, cursor, limit);
    assert.ok(p.keys.length <= limit, `a page holds at most ${limit} keys, got ${p.keys.length}`);
    names.push(...p.keys.map((k) => k.name));
    if (p.list_complete) {
      assert.ok(!p.cursor, "a complete list has no cursor to follow");
      return names;
    }
    assert.equal(typeof p.cursor, "string");
    assert.ok(p.cursor.length > 0, "an incomplete list has a cursor");
    cursor = p.cursor;
  }
  assert.fail("list never completed");
}

const names = async (store, prefix, limit = 1000) => (await page(store, prefix, null, limit)).keys.map((k) => k.name);

// Each case gets { kv, store (sweepStore), mirror (ObjectHost's KV calls), p (its own key
// prefix: both sides keep one namespace for all cases) }.
const CASES = [
  ["get of a missing key is null (also with metadata)", async ({ kv, store, p }) => {
    assert.equal(await store.get(`${p}missing`), null);
    const r = await kv.getWithMetadata(`${p}missing`);
    assert.equal(r.value, null);
    assert.equal(r.metadata, null);
  }],

  ["text value round trip, overwrite and empty text (the sweep cursor)", async ({ store, p }) => {
    const key = `${p}sweep:cursor`;
    await store.put(key, "c3dlZXA6Y3Vyc29y=+/ é");
    assert.equal(await store.get(key), "c3dlZXA6Y3Vyc29y=+/ é");
    await store.put(key, "next");
    assert.equal(await store.get(key), "next");
    await store.put(key, "");
    assert.equal(await store.get(key), "");
  }],

  ["metadata round trip: a JSON object, via getWithMetadata and via list keys", async ({ kv, store, mirror, p }) => {
    const key = `${p}session:abc`;
    const exp = nowS() + 3600;
    const record = JSON.stringify({ data: { user: "ann" }, ver: 3 });
    await mirror.put(key, record, exp, meta(1_700_000_000_123, 3));
    assert.equal(await store.get(key), record);
    const r = await kv.getWithMetadata(key);
    assert.equal(r.value, record);
    assert.deepEqual(r.metadata, { exp: 1_700_000_000_123, ver: 3 });
    const { keys } = await page(store, `${p}session:`, null, 10);
    assert.deepEqual(keys, [{ name: key, expiration: exp, metadata: { exp: 1_700_000_000_123, ver: 3 } }]);
  }],

  ["expiration is stored and listed in whole seconds; a key without one lists without one", async ({ kv, store, mirror, p }) => {
    const exp = nowS() + 86_461;
    await mirror.put(`${p}a`, "1", exp, meta(1, 1));
    const before = nowS();
    await kv.put(`${p}b`, "2", { expirationTtl: 3600 });
    const after = nowS();
    await store.put(`${p}c`, "3");
    const { keys } = await page(store, p, null, 10);
    assert.deepEqual(keys.map((k) => k.name), [`${p}a`, `${p}b`, `${p}c`]);
    assert.equal(keys[0].expiration, exp);
    assert.ok(Number.isInteger(keys[1].expiration), "expirationTtl lists as whole seconds");
    assert.ok(keys[1].expiration >= before + 3600 && keys[1].expiration <= after + 3600, `ttl expiration ${keys[1].expiration}`);
    assert.deepEqual(keys[2], { name: `${p}c` });
  }],

  ["an expiration in the past or under 60 s ahead is refused, and leaves the key as it was", async ({ kv, store, mirror, p }) => {
    const key = `${p}session:x`;
    const exp = nowS() + 3600;
    await mirror.put(key, "old", exp, meta(5, 1));
    const refused = [
      ["expiration in the past", () => mirror.put(key, "new", nowS() - 10, meta(6, 2))],
      ["expiration now", () => mirror.put(key, "new", nowS(), meta(6, 2))],
      ["expiration 30 s ahead", () => mirror.put(key, "new", nowS() + 30, meta(6, 2))],
      ["expiration 59 s ahead", () => mirror.put(key, "new", nowS() + 59, meta(6, 2))],
      ["expirationTtl 30", () => kv.put(key, "new", { expirationTtl: 30 })],
      ["expirationTtl 59", () => kv.put(key, "new", { expirationTtl: 59 })],
    ];
    for (const [what, put] of refused) await assert.rejects(put, Error, `${what} is refused`);
    const r = await kv.getWithMetadata(key);
    assert.equal(r.value, "old");
    assert.deepEqual(r.metadata, { exp: 5, ver: 1 });
    assert.deepEqual((await page(store, key, null, 10)).keys, [{ name: key, expiration: exp, metadata: { exp: 5, ver: 1 } }]);
    // the package's smallest expiration, 61 s ahead, and a TTL well over 60 s are accepted
    await mirror.put(`${p}session:y`, "v", nowS() + 61, meta(7, 1));
    await kv.put(`${p}session:z`, "v", { expirationTtl: 120 });
    // the limit itself, in whole seconds: exactly 60 s ahead, and a TTL of 60
    await kv.put(`${p}session:z1`, "v", { expiration: nowS() + 60 });
    await kv.put(`${p}session:z2`, "v", { expirationTtl: 60 });
    assert.deepEqual(await names(store, `${p}session:`), [`${p}session:x`, `${p}session:y`, `${p}session:z`, `${p}session:z1`, `${p}session:z2`]);
  }],

  ["a put overwrites value, metadata and expiration; a put without them drops them", async ({ kv, store, mirror, p }) => {
    const key = `${p}session:o`;
    const e1 = nowS() + 3600;
    const e2 = nowS() + 7200;
    await mirror.put(key, "v1", e1, meta(10, 1));
    await mirror.put(key, "v2", e2, meta(20, 2));
    assert.deepEqual((await page(store, key, null, 10)).keys, [{ name: key, expiration: e2, metadata: { exp: 20, ver: 2 } }]);
    assert.equal(await store.get(key), "v2");
    await store.put(key, "plain");
    assert.deepEqual((await page(store, key, null, 10)).keys, [{ name: key }]);
    const r = await kv.getWithMetadata(key);
    assert.equal(r.value, "plain");
    assert.equal(r.metadata, null);
  }],

  ["delete is idempotent and a deleted key is gone from get, getWithMetadata and list", async ({ kv, store, mirror, p }) => {
    assert.equal(await mirror.delete(`${p}never`), undefined);
    await store.delete(`${p}never`);
    await mirror.put(`${p}k`, "v", nowS() + 3600, meta(1, 1));
    await store.put(`${p}k2`, "v");
    await mirror.delete(`${p}k`);
    await mirror.delete(`${p}k`);
    await store.delete(`${p}k2`);
    assert.equal(await store.get(`${p}k`), null);
    assert.equal(await store.get(`${p}k2`), null);
    const r = await kv.getWithMetadata(`${p}k`);
    assert.equal(r.value, null);
    assert.equal(r.metadata, null);
    const l = await page(store, p, null, 10);
    assert.deepEqual(l.keys, []);
    assert.equal(l.list_complete, true);
  }],

  ["deleted keys don't list; a key put again lists again", async ({ store, mirror, p }) => {
    for (const id of ["a", "b", "c"]) await mirror.put(`${p}${id}`, id, nowS() + 3600, meta(1, 1));
    await mirror.delete(`${p}b`);
    assert.deepEqual(await names(store, p), [`${p}a`, `${p}c`]);
    assert.deepEqual(await listAll(store, p, 1), [`${p}a`, `${p}c`]);
    await mirror.put(`${p}b`, "b", nowS() + 3600, meta(2, 2));
    assert.deepEqual(await names(store, p), [`${p}a`, `${p}b`, `${p}c`]);
  }],

  ["list orders keys lexicographically (by character code, whatever the put order)", async ({ store, p }) => {
    const ids = ["b", "a", "_", "-", "Z", "A", "0", "9", "ab", "a-", "a_", "aB", "aa", "~", "a", "zz", "z"];
    for (const id of ids) await store.put(`${p}${id}`, id);
    const want = [...new Set(ids)].map((id) => `${p}${id}`).sort();
    assert.deepEqual(await names(store, p), want);
    assert.deepEqual(await listAll(store, p, 4), want);
  }],

  ["prefix filtering: only keys that start with the prefix (case-sensitive, the prefix itself included)", async ({ store, mirror, p }) => {
    await mirror.put(`${p}session:1`, "1", nowS() + 3600, meta(1, 1));
    await mirror.put(`${p}session:2`, "2", nowS() + 3600, meta(1, 1));
    await store.put(`${p}session:`, "exactly the prefix");
    await store.put(`${p}sweep:cursor`, "c");
    await store.put(`${p}session`, "shorter");
    await store.put(`${p}Session:3`, "other case");
    await store.put(`${p}sessions:4`, "longer word");
    await store.put(`${p.slice(0, -1)}session:5`, "outside the case prefix");
    assert.deepEqual(await names(store, `${p}session:`), [`${p}session:`, `${p}session:1`, `${p}session:2`]);
    assert.deepEqual(await names(store, `${p}sweep:`), [`${p}sweep:cursor`]);
    assert.deepEqual(await names(store, `${p}nothing:`), []);
  }],

  ["pagination: limit + cursor until list_complete yields every key once, in order", async ({ store, mirror, p }) => {
    const want = [];
    for (let i = 0; i < 7; i++) {
      const key = `${p}session:${String.fromCharCode(103 - i)}${i}`; // put in reverse order
      await mirror.put(key, String(i), nowS() + 3600, meta(i, i));
      want.push(key);
    }
    await store.put(`${p}sweep:cursor`, "not a session");
    want.sort();
    const first = await page(store, `${p}session:`, null, 3);
    assert.equal(first.keys.length, 3);
    assert.equal(first.list_complete, false);
    assert.deepEqual(first.keys.map((k) => k.metadata), [...first.keys].map((k) => ({ exp: Number(k.name.at(-1)), ver: Number(k.name.at(-1)) })));
    for (const limit of [1, 2, 3, 6, 7, 8, 1000]) {
      assert.deepEqual(await listAll(store, `${p}session:`, limit), want, `limit ${limit}`);
    }
    const all = await page(store, `${p}session:`, null, 7);
    assert.equal(all.list_complete, true, "a limit that fits every key lists them in one page");
    assert.equal(all.keys.length, 7);
  }],

  ["a saved cursor resumes after its key, even once that key is deleted and others were added", async ({ store, mirror, p }) => {
    const key = (id) => `${p}session:${id}`;
    for (const id of ["k1", "k2", "k3", "k4", "k5", "k6"]) await mirror.put(key(id), id, nowS() + 3600, meta(1, 1));
    const first = await page(store, `${p}session:`, null, 2);
    assert.deepEqual(first.keys.map((k) => k.name), [key("k1"), key("k2")]);
    // the sweep keeps its cursor in KV between runs
    await store.put(`${p}sweep:cursor`, first.cursor);
    const saved = await store.get(`${p}sweep:cursor`);
    await mirror.delete(key("k2"));
    await mirror.delete(key("k4"));
    await mirror.put(key("k0"), "before the cursor", nowS() + 3600, meta(1, 1));
    await mirror.put(key("k1b"), "before the cursor", nowS() + 3600, meta(1, 1));
    await mirror.put(key("k5b"), "after the cursor", nowS() + 3600, meta(1, 1));
    const rest = [];
    let cursor = saved;
    for (let n = 0; ; n++) {
      assert.ok(n < 10, "the resumed list never completed");
      const pg = await page(store, `${p}session:`, cursor, 2);
      rest.push(...pg.keys.map((k) => k.name));
      if (pg.list_complete) break;
      cursor = pg.cursor;
    }
    assert.deepEqual(rest, [key("k3"), key("k5"), key("k5b"), key("k6")]);
  }],

  ["metadata of up to 1024 bytes of JSON is kept, more is refused", async ({ kv, store, mirror, p }) => {
    const exp = nowS() + 3600;
    const fits = JSON.stringify({ exp: 1, ver: 1, pad: "x".repeat(1024 - 26) });
    assert.equal(new TextEncoder().encode(fits).length, 1024);
    await mirror.put(`${p}fits`, "v", exp, fits);
    assert.deepEqual((await kv.getWithMetadata(`${p}fits`)).metadata, JSON.parse(fits));
    const over = JSON.stringify({ exp: 1, ver: 1, pad: "x".repeat(1025 - 26) });
    await assert.rejects(() => mirror.put(`${p}over`, "v", exp, over), Error);
    assert.equal(await store.get(`${p}over`), null);
  }],
];

const BACKENDS = [
  ["edge-sessions/testing MemoryKV", async () => ({ kv: new MemoryKV(), close: async () => {} })],
  ["workerd KV (Miniflare)", async () => {
    const mf = new Miniflare({
      modules: true,
      script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
      compatibilityDate: "2025-11-01",
      kvNamespaces: ["SESSIONS"],
      kvPersist: false,
    });
    try {
      await mf.ready;
      return { kv: await mf.getKVNamespace("SESSIONS"), close: () => mf.dispose() };
    } catch (err) {
      await mf.dispose();
      throw err;
    }
  }],
];

for (const [backend, open] of BACKENDS) {
  describe(`KV contract: ${backend}`, () => {
    let side;
    before(async () => {
      side = await open();
    });
    after(async () => {
      await side?.close();
    });
    CASES.forEach(([name, run], i) => {
      test(name, { timeout: 20_000 }, () =>
        run({ kv: side.kv, store: sweepStore(side.kv), mirror: mirrorOf(side.kv), p: `c${String(i).padStart(2, "0")}/` }));
    });
  });
}
