// The wasm engine's own cost per proxied request, in plain Node (the real engine module,
// loaded through edge-sessions/testing's hooks): the engine calls the proxy makes for an
// anonymous request, without any platform work around them.
// Usage: node bench/engine-calls.mjs   (after scripts/build.sh)
import "../js/testing.js";
const { engine, transport } = await import("../js/engine.js");
const e = engine();
const env = { SESSION_SECRET: "s".repeat(40), ORIGIN: "http://127.0.0.1:1", SESSIONS: {}, SESSION_LOCKS: {} };
const core = new e.ProxyCore(env, transport(env));
// header blocks, as js/proxy.js passes them
const hdrs = "accept\n*/*\nuser-agent\ncurl/8\nhost\nx\n";
const ctx = { waitUntil() {} };
async function one() {
  const scope = core.start("", "/p", undefined);
  (await core.forward(scope, "GET", "/p", "", "x", hdrs)).split("\n");
  (await core.respond(scope, 200, false, "content-type\ntext/plain\n", ctx)).split("\n");
  scope.free();
}
for (let i = 0; i < 2000; i++) await one();
const N = 5000;
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) await one();
console.log("anonymous proxy engine path:", Number(process.hrtime.bigint() - t0) / N / 1000, "µs");
const t1 = process.hrtime.bigint();
for (let i = 0; i < N; i++) { const s = core.start("", "/p", undefined); s.free(); }
console.log("start only:", Number(process.hrtime.bigint() - t1) / N / 1000, "µs");
