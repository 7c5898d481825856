// The wasm engine's cost per proxied request inside workerd: a worker runs the engine calls of
// an anonymous proxied request (start, forward, respond) 0 or 50 times per request,
// and the difference in the workerd process's CPU per request, divided by 50, is the engine's
// share. Compare with bench/engine-calls.mjs (the same calls in Node).
// Usage: node bench/engine-in-workerd.mjs   (after scripts/build.sh)
import { compare, serve, wasmWorker, agent } from "./lib.mjs";
import fs from "node:fs";
fs.writeFileSync("bench/.engine-in-workerd.worker.mjs", `
import { engine, transport } from "../js/engine.js";
export { SessionLock } from "../js/lock.js";
let core;
const hdrs = "accept\\n*/*\\nuser-agent\\ncurl/8\\nhost\\nx\\n"; // a header block, as js/proxy.js passes it
export default { async fetch(req, env, ctx) {
  core ??= new (engine().ProxyCore)(env, transport(env));
  const n = Number(new URL(req.url).searchParams.get("n"));
  for (let i = 0; i < n; i++) {
    const scope = core.start("", "/p", undefined);
    (await core.forward(scope, "GET", "/p", "", "x", hdrs)).split("\\n");
    (await core.respond(scope, 200, false, "content-type\\ntext/plain\\n", ctx)).split("\\n");
    scope.free();
  }
  return new Response("ok");
} };`);
const s = await serve(wasmWorker("bench/.engine-in-workerd.worker.mjs", { ORIGIN: "http://127.0.0.1:9" }));
const r = await compare(1, 1000, 3, { n0: () => [s.url + "/?n=0"], n1: () => [s.url + "/?n=1"], n50: () => [s.url + "/?n=50"] }, { pids: { n0: s.pids, n1: s.pids, n50: s.pids } });
console.log("one engine path per request:", (r.n1.cpuUs - r.n0.cpuUs).toFixed(0), "µs");
console.log("per engine path in workerd:", ((r.n50.cpuUs - r.n0.cpuUs) / 50).toFixed(1), "µs; n0 CPU", r.n0.cpuUs, "n50 CPU", r.n50.cpuUs);
await s.mf.dispose(); agent.destroy(); fs.rmSync("bench/.engine-in-workerd.worker.mjs");
