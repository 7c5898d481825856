// The signed hand-off end to end: the real proxy build on workerd in front of the real demo
// origin (demo/origin.mjs), which verifies X-Session-Signature with edge-sessions/handoff.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDemo } from "../../demo/origin.mjs";
import { signHandoff, verifyHandoff, handoffMessage } from "../../js/handoff.js";
import { startWorker, sessionCookie, SECRET } from "./harness.mjs";

const ORIGIN_SECRET = "origin-secret-for-tests-0123456789abcdef";
const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");

describe("signed hand-off: proxy signs, demo origin verifies", () => {
  let demo, w, based;
  before(async () => {
    demo = await startDemo({ port: 0, originSecret: ORIGIN_SECRET });
    w = await startWorker(demo.url, { SESSION_ORIGIN_SECRET: ORIGIN_SECRET });
    based = await startWorker(demo.url + "/base", { SESSION_ORIGIN_SECRET: ORIGIN_SECRET });
  });
  after(async () => {
    await w?.dispose();
    await based?.dispose();
    await demo?.close();
  });

  test("requests through the proxy are accepted: visit, login, logout", async () => {
    const first = await w.fetch("/?a=1&b=%2F");
    assert.equal(first.status, 200);
    assert.match(await first.text(), /Visit number 1 \(new session\)/);
    const c = sessionCookie(first).value;
    const cookie = { cookie: `__Host-session=${c}` };
    const second = await w.fetch("/", { headers: cookie });
    assert.match(await second.text(), /Visit number 2</);
    const login = await w.fetch("/login?user=ann", { method: "POST", headers: cookie });
    assert.equal(login.status, 303);
    await login.arrayBuffer();
    const odd = await w.fetch("/", { method: "PROPFIND", headers: { cookie: `__Host-session=${sessionCookie(login).value}` } });
    assert.equal(odd.status, 200, "any method is signed as itself");
    assert.match(await odd.text(), /User: ann/);
  });

  test("ORIGIN's base path is part of the signed target", async () => {
    const r = await based.fetch("/page?x=1");
    assert.equal(r.status, 404, "verified (401 otherwise), then the demo has no such page");
    await r.arrayBuffer();
  });

  test("the demo refuses direct requests: unsigned, forged, altered, stale", async () => {
    const admin = b64({ user: "admin" });
    const direct = (path, headers, method = "GET") => fetch(demo.url + path, { method, headers });
    const unsigned = await direct("/", { "x-session-id": "A".repeat(32), "x-session-data": admin });
    assert.equal(unsigned.status, 401);
    assert.match(await unsigned.text(), /malformed/);

    const fields = { method: "GET", target: "/", id: "A".repeat(32), data: b64({ user: "ann" }), isNew: false };
    const sig = await signHandoff(fields, { originSecret: ORIGIN_SECRET });
    const good = await direct("/", { "x-session-id": fields.id, "x-session-data": fields.data, "x-session-signature": sig });
    assert.equal(good.status, 200, "a correct signature is accepted (so the refusals below are about what changed)");
    assert.match(await good.text(), /User: ann/);

    const cases = [
      ["forged", { "x-session-id": fields.id, "x-session-data": admin, "x-session-signature": `t=${Math.floor(Date.now() / 1000)},v1=${"ab".repeat(32)}` }, "/", "GET"],
      ["data altered", { "x-session-id": fields.id, "x-session-data": admin, "x-session-signature": sig }, "/", "GET"],
      ["path altered", { "x-session-id": fields.id, "x-session-data": fields.data, "x-session-signature": sig }, "/?x=1", "GET"],
      ["method altered", { "x-session-id": fields.id, "x-session-data": fields.data, "x-session-signature": sig }, "/", "POST"],
      ["new altered", { "x-session-id": fields.id, "x-session-data": fields.data, "x-session-new": "1", "x-session-signature": sig }, "/", "GET"],
      ["wrong key", { "x-session-id": fields.id, "x-session-data": fields.data, "x-session-signature": await signHandoff(fields, { sessionSecret: SECRET }) }, "/", "GET"],
    ];
    for (const [name, headers, path, method] of cases) {
      const r = await direct(path, headers, method);
      assert.equal(r.status, 401, name);
      assert.match(await r.text(), /forged/, name);
    }
    const old = await signHandoff(fields, { originSecret: ORIGIN_SECRET }, Math.floor(Date.now() / 1000) - 61);
    const stale = await direct("/", { "x-session-id": fields.id, "x-session-data": fields.data, "x-session-signature": old });
    assert.equal(stale.status, 401);
    assert.match(await stale.text(), /stale/);
  });

  test("the JS helper matches the documented test vectors", async () => {
    const fields = { method: "POST", target: "/login?next=%2F", id: "A".repeat(32), data: "eyJ1c2VyIjoiYW5uIn0", isNew: false };
    assert.equal(
      await signHandoff(fields, { originSecret: "origin-secret-0123456789abcdef-0123456789" }, 1795000000),
      "t=1795000000,v1=635a369eaccedc197cdd033e76d37459ed26d5bb3d112b6268e50f063be92fd1"
    );
    assert.equal(
      await signHandoff(fields, { sessionSecret: "test-secret-0123456789abcdef-0123456789" }, 1795000000),
      "t=1795000000,v1=b94579e0b68d548bf452600e9601a8ce4f1bc8d49a0d1b15ffce0f3896402479"
    );
    assert.equal(handoffMessage(1, fields).split("\n").length, 7);
    await assert.rejects(
      verifyHandoff({ method: "GET", target: "/", headers: { "x-session-signature": ["a", "b"] } }, { originSecret: ORIGIN_SECRET }),
      /more than once/
    );
  });
});
