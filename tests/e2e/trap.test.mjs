// A wasm trap in the engine takes down only the request that hit it: that request gets an
// opaque 500, a fresh engine instance serves new requests, and a request already running on
// the old instance completes with its write.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startModule, sessionCookie } from "./harness.mjs";
import { startOrigin } from "./origin.mjs";

const NAME = "__Host-session";

describe("engine traps", () => {
  let origin, w;
  before(async () => {
    origin = await startOrigin();
    w = await startModule("tests/e2e/trap-worker.mjs", { ORIGIN: origin.url });
  });
  after(async () => {
    await w?.dispose();
    await origin?.close();
  });

  async function newSession() {
    const res = await w.fetch("/count");
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    return `${NAME}=${sessionCookie(res).value}`;
  }
  const count = async (cookie) => {
    const res = await w.fetch("/count", { headers: { cookie } });
    assert.equal(res.status, 200);
    return (await res.json()).count;
  };

  for (const [kind, where] of [
    [1, "in a synchronous call"],
    [2, "inside an awaited step"],
  ]) {
    test(`a panic ${where}: that request gets an opaque 500, an in-flight one completes, the next ones work`, async () => {
      const parked = await newSession(); // count 1
      const other = await newSession(); // count 1
      // a request on the current instance, holding its session's lock, parked mid-handler
      const gate = `hold${kind}`;
      const inFlight = w.fetch(`/hold?gate=${gate}`, { headers: { cookie: parked } });
      await origin.arrived(gate, 1);
      await (await w.fetch(`/arm?kind=${kind}`)).arrayBuffer();
      const hit = await w.fetch("/count", { headers: { cookie: other } });
      assert.equal(hit.status, 500);
      assert.equal(await hit.text(), "internal error");
      assert.equal(sessionCookie(hit), null);
      // the parked request finishes on the old instance, its write saved
      origin.open(gate);
      const done = await inFlight;
      assert.equal(done.status, 200);
      assert.equal((await done.json()).count, 2);
      // a fresh instance serves new requests and reads what the old one wrote
      assert.equal(await count(parked), 3);
      assert.ok(w.output.some((l) => /engine_panic/.test(l)), "the panic is logged");
      assert.ok(w.output.some((l) => /engine_trap/.test(l)), "the re-instantiation is logged");
    });
  }
});
