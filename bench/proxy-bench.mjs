// Benchmark of the proxy on local workerd (Miniflare's API, not wrangler dev, whose own proxy
// layer would dilute the ratio). One run measures, side by side and in alternating rounds:
//   (a) a pass-through worker with no sessions, and
//   (b) the session proxy with an existing session per client and implicit locking,
// both in front of the same local origin; then the lock hand-off: 50 concurrent requests on
// one session against a 10 ms origin, total time against 50 x 10 ms.
// Usage: node bench/proxy-bench.mjs [requestsPerRound=1000] [rounds=4] [clients=8]
import http from "node:http";
import { Miniflare } from "miniflare";
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { fileURLToPath } from "node:url";
import os from "node:os";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [perRound = 1000, rounds = 4, clients = 8] = process.argv.slice(2).map(Number);
const SECRET = "bench-secret-0123456789abcdef-0123456789";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const origin = http.createServer(async (req, res) => {
  if (req.url.startsWith("/slow")) await sleep(10);
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("hello from the origin\n");
});
await new Promise((r) => origin.listen(0, "127.0.0.1", r));
const ORIGIN = `http://127.0.0.1:${origin.address().port}`;

const passThrough = new Miniflare({
  modules: true,
  compatibilityDate: "2025-11-01",
  bindings: { ORIGIN },
  script: `export default { async fetch(req, env) {
    const u = new URL(req.url);
    return fetch(env.ORIGIN + u.pathname + u.search, { method: req.method, headers: req.headers, redirect: "manual" });
  } }`,
});
const proxy = new Miniflare({
  rootPath: root,
  scriptPath: "build/index.js",
  modules: true,
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  compatibilityDate: "2025-11-01",
  kvNamespaces: ["SESSIONS"],
  durableObjects: { SESSION_LOCKS: { className: "SessionLock", useSQLite: true } },
  bindings: { SESSION_SECRET: SECRET, ORIGIN, SESSION_LOCKING: "implicit" },
});
const urlA = (await passThrough.ready).href.replace(/\/$/, "");
const urlB = (await proxy.ready).href.replace(/\/$/, "");

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function get(url, cookie) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(url, { agent, headers: cookie ? { cookie } : {} }, (res) => {
      const setCookie = res.headers["set-cookie"] || [];
      res.resume();
      res.on("end", () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, setCookie }));
    });
    req.on("error", reject);
  });
}

const cookies = [];
// The bench origin sets no data, so make the sessions real by sending one patch each through
// a tiny patch-setting origin route on the same server.
origin.removeAllListeners("request");
origin.on("request", async (req, res) => {
  if (req.url.startsWith("/seed")) {
    res.writeHead(200, { "x-session-update": Buffer.from(JSON.stringify({ seeded: true, pad: "x".repeat(900) })).toString("base64url") });
    res.end("seeded\n");
    return;
  }
  if (req.url.startsWith("/slow")) await sleep(10);
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("hello from the origin\n");
});
for (let i = 0; i < clients; i++) {
  const r = await get(urlB + "/seed");
  cookies[i] = r.setCookie.find((c) => c.startsWith("__Host-session="))?.split(";")[0];
  if (!cookies[i]) throw new Error("no session cookie from the proxy");
}

async function round(base, useCookies, n, route = "/page") {
  const lat = [];
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (next < n) {
        next++;
        const r = await get(base + route, useCookies ? cookies[c] : undefined);
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        lat.push(r.ms);
      }
    })
  );
  return { lat, secs: (Date.now() - t0) / 1000 };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs) => pct(xs, 50);

await round(urlA, false, 200); // warm-up
await round(urlB, true, 200);
const A = { p50: [], p99: [], rps: [] };
const B = { p50: [], p99: [], rps: [] };
for (let i = 0; i < rounds; i++) {
  for (const [base, useCookies, acc] of [[urlA, false, A], [urlB, true, B]]) {
    const { lat, secs } = await round(base, useCookies, perRound);
    acc.p50.push(pct(lat, 50));
    acc.p99.push(pct(lat, 99));
    acc.rps.push(lat.length / secs);
  }
}

// the same comparison against a 10 ms origin, closer to a real application's latency
const A10 = [];
const B10 = [];
for (let i = 0; i < 2; i++) {
  A10.push(pct((await round(urlA, false, 200, "/slow")).lat, 50));
  B10.push(pct((await round(urlB, true, 200, "/slow")).lat, 50));
}

// lock hand-off: 50 concurrent requests on one session, 10 ms origin
const handoff = [];
for (let i = 0; i < 3; i++) {
  const t0 = Date.now();
  const rs = await Promise.all(Array.from({ length: 50 }, () => get(urlB + "/slow", cookies[0])));
  if (rs.some((r) => r.status !== 200)) throw new Error("hand-off request failed");
  handoff.push(Date.now() - t0);
}
const handoffMs = median(handoff);

const wasmFile = readdirSync(path.join(root, "build")).find((f) => f.endsWith(".wasm"));
const wasm = readFileSync(path.join(root, "build", wasmFile));

const f = (x) => x.toFixed(2);
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0].model}, node ${process.version}`);
console.log(`load: ${clients} concurrent clients, ${rounds} alternating rounds of ${perRound} requests each`);
console.log(`(a) pass-through  p50 ${f(median(A.p50))} ms  p99 ${f(median(A.p99))} ms  ${median(A.rps).toFixed(0)} req/s`);
console.log(`(b) session proxy p50 ${f(median(B.p50))} ms  p99 ${f(median(B.p99))} ms  ${median(B.rps).toFixed(0)} req/s`);
console.log(`ratio b/a: p50 ${f(median(B.p50) / median(A.p50))}  p99 ${f(median(B.p99) / median(A.p99))}  throughput ${f(median(B.rps) / median(A.rps))}`);
console.log(`with a 10 ms origin: (a) p50 ${f(median(A10))} ms  (b) p50 ${f(median(B10))} ms  ratio ${f(median(B10) / median(A10))}`);
console.log(`lock hand-off: 50 requests on one session, 10 ms origin: median ${handoffMs} ms total vs 500 ms floor -> ${f((handoffMs - 500) / 50)} ms overhead per request (runs: ${handoff.join(", ")} ms)`);
console.log(`wasm: ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} bytes gzipped`);

await passThrough.dispose();
await proxy.dispose();
agent.destroy();
origin.close();
