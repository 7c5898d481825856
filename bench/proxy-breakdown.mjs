// Where the proxy's time goes, in one run on local workerd, all in front of the same instant
// loopback origin:
//   pass-through     a JS worker that only forwards (the baseline)
//   js+do-hop        a JS worker that makes one JS Durable Object round trip, then forwards
//                    (the floor for any design with one object hop per request)
//   js+lock-hop      the same JS worker making that round trip to our SessionLock object (a
//                    load without lock, over RPC), to separate the object's cost
//   js-shape         a JS worker doing the proxy's JavaScript work and no engine call: the
//                    URL parse, both header blocks, the request's Headers copy (two deletes;
//                    not the hand-off's appends), the response rebuilt (one delete): what the
//                    runtime's copies cost
//   wasm-anonymous   the proxy, no cookie: no object call at all
//   wasm-none        the proxy, existing session, SESSION_LOCKING=none: one load round trip
//   wasm-implicit    the proxy, existing session, implicit locking: lock+load round trip; the
//                    lease's RPC stub is disposed after the response, which releases it
// CPU is the workerd process tree's per request, as in proxy-bench.mjs.
// Usage: node bench/proxy-breakdown.mjs [clients=1] [requestsPerRound=800] [rounds=3]
// Needs scripts/build.sh first.
import http from "node:http";
import { PROXY_SCRIPT, agent, compare, fmt, get, serve, wasmWorker } from "./lib.mjs";

const [clients = 1, perRound = 800, rounds = 3] = process.argv.slice(2).map(Number);

const origin = http.createServer((req, res) => {
  const headers = {};
  if (req.url.startsWith("/seed")) {
    headers["x-session-update"] = Buffer.from(JSON.stringify({ seeded: true, pad: "x".repeat(900) })).toString("base64url");
  }
  res.writeHead(200, headers);
  res.end("hi\n");
});
await new Promise((r) => origin.listen(0, "127.0.0.1", r));
const ORIGIN = `http://127.0.0.1:${origin.address().port}`;

const js = (script, extra = {}) => ({ modules: true, compatibilityDate: "2025-11-01", bindings: { ORIGIN }, script, ...extra });
const proxy = (vars) => wasmWorker(PROXY_SCRIPT, { ORIGIN, ...vars });
const forward = `const u = new URL(req.url); return fetch(env.ORIGIN + u.pathname, { headers: req.headers });`;
const sid = "A".repeat(32);
// the object's settings, sent whole with a version of our own (src/engine/wire.rs SettingsRef)
const settings = { v: 1, full: { timeout_ms: 3600000, absolute_ms: null, max_data_bytes: 4096, lease_ms: 30000, wait_ms: 10000, key_prefix: "session:", log_level: "info", user_cap: 100 } };
const jsToLock = {
  workers: [
    {
      name: "front",
      modules: true,
      compatibilityDate: "2025-11-01",
      bindings: { ORIGIN },
      durableObjects: { LOCKS: { className: "SessionLock", scriptName: "locks", useSQLite: true } },
      script: `export default { async fetch(req, env) {
        const { reply } = await env.LOCKS.getByName("${sid}").begin(JSON.stringify({ sid: "${sid}", settings: ${JSON.stringify(settings)}, lock: false, rid: crypto.randomUUID() }));
        // a refused message (the object protocol changed) must fail the run, not time an error
        if (!reply.startsWith('{"ok"')) return new Response(reply, { status: 500 });
        ${forward} } }`,
    },
    { name: "locks", ...wasmWorker(PROXY_SCRIPT, { ORIGIN }) },
  ],
};
// js/proxy.js's JavaScript, the engine's calls left out (their answers are constants)
const shape = `function block(h) { let b = ""; h.forEach((v, n) => { b += n + "\\n" + v + "\\n"; }); return b; }
  export default { async fetch(req, env) {
    const u = new URL(req.url);
    const sent = block(req.headers);
    const headers = new Headers(req.headers);
    headers.delete("x-session"); headers.delete("x-session-id");
    const answer = await fetch(env.ORIGIN + u.pathname + u.search, { method: req.method, headers, redirect: "manual" });
    const got = block(answer.headers);
    if (sent.length + got.length === 0) throw new Error("unreachable");
    const response = new Response(answer.body, answer);
    response.headers.delete("x-session-update");
    return response; } }`;
const specs = {
  "pass-through": js(`export default { async fetch(req, env) { ${forward} } }`),
  "js+do-hop": js(
    `export class D { async fetch(req) { const b = await req.json(); return Response.json({ lease: null, record: b }); } }
     export default { async fetch(req, env) {
       const r = await env.D.getByName(new URL(req.url).searchParams.get("c") || "0").fetch("https://d/begin", { method: "POST", body: JSON.stringify({ sid: "s", lock: true }) });
       await r.json(); ${forward} } }`,
    { durableObjects: { D: { className: "D", useSQLite: true } } }
  ),
  "js+lock-hop": jsToLock,
  "js-shape": js(shape),
  "wasm-implicit": proxy({}),
  "wasm-none": proxy({ SESSION_LOCKING: "none" }),
};
const servers = {};
const url = {};
const pids = {};
for (const [k, options] of Object.entries(specs)) {
  servers[k] = await serve(options);
  url[k] = servers[k].url.replace(/\/$/, "");
  pids[k] = servers[k].pids;
}
pids["wasm-anonymous"] = pids["wasm-implicit"];
const seed = async (u) => (await get(u + "/seed")).setCookie.find((c) => c.startsWith("__Host-session=")).split(";")[0];
const cookieI = [];
const cookieN = [];
for (let c = 0; c < clients; c++) {
  cookieI.push(await seed(url["wasm-implicit"]));
  cookieN.push(await seed(url["wasm-none"]));
}

const r = await compare(clients, perRound, rounds, {
  "pass-through": () => [url["pass-through"] + "/p"],
  "js+do-hop": (c) => [url["js+do-hop"] + "/p?c=" + c],
  "js+lock-hop": () => [url["js+lock-hop"] + "/p"],
  "js-shape": () => [url["js-shape"] + "/p"],
  "wasm-anonymous": () => [url["wasm-implicit"] + "/p"],
  "wasm-none": (c) => [url["wasm-none"] + "/p", cookieN[c]],
  "wasm-implicit": (c) => [url["wasm-implicit"] + "/p", cookieI[c]],
}, { pids });
const base = r["pass-through"].p50;
console.log(`${clients} client(s), ${rounds} alternating rounds of ${perRound} requests`);
for (const [k, v] of Object.entries(r)) {
  const cpu = v.cpuUs === null ? "" : `  CPU ${v.cpuUs.toFixed(0)} µs/req (+${(v.cpuUs - r["pass-through"].cpuUs).toFixed(0)})`;
  console.log(`${k.padEnd(15)} p50 ${fmt(v.p50)} ms  (x${fmt(v.p50 / base)})  ${v.rps.toFixed(0)} req/s${cpu}`);
}
for (const s of Object.values(servers)) await s.mf.dispose();
agent.destroy();
origin.close();
