// Benchmark of the proxy on local workerd (Miniflare's API, not wrangler dev, whose own proxy
// layer would dilute the ratio). One run measures, side by side and in alternating rounds:
//   (a) a pass-through worker with no sessions, and
//   (b) the session proxy with existing sessions and implicit locking (each client cycles
//       through 16 sessions; also reported: one session per client, back to back),
// both in front of the same local origin (instant, then 10 ms); then the lock hand-off: 50
// concurrent requests on one session against a 10 ms origin, total time against 50 x 10 ms.
// Usage: node bench/proxy-bench.mjs [requestsPerRound=1000] [rounds=4] [clients=8]
// Needs scripts/build.sh first.
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";
import { agent, compare, fmt, get, median, root, wasmWorker } from "./lib.mjs";

const [perRound = 1000, rounds = 4, clients = 8] = process.argv.slice(2).map(Number);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The origin: /seed stores some data in the session; /slow takes 10 ms; anything else is instant.
const origin = http.createServer(async (req, res) => {
  const headers = { "content-type": "text/plain" };
  if (req.url.startsWith("/seed")) {
    headers["x-session-update"] = Buffer.from(JSON.stringify({ seeded: true, pad: "x".repeat(900) })).toString("base64url");
  }
  if (req.url.startsWith("/slow")) await sleep(10);
  res.writeHead(200, headers);
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
const proxy = new Miniflare(wasmWorker("build/index.js", { ORIGIN, SESSION_LOCKING: "implicit" }));
const urlA = (await passThrough.ready).href.replace(/\/$/, "");
const urlB = (await proxy.ready).href.replace(/\/$/, "");

// stored sessions (~1 KB each): each client cycles through 16 of its own
const PER_CLIENT = 16;
const cookies = [];
for (let i = 0; i < clients * PER_CLIENT; i++) {
  const r = await get(urlB + "/seed");
  const c = r.setCookie.find((v) => v.startsWith("__Host-session="));
  if (!c) throw new Error("no session cookie from the proxy");
  cookies.push(c.split(";")[0]);
}

const turn = new Array(clients).fill(0);
const nextCookie = (c) => cookies[c * PER_CLIENT + (turn[c]++ % PER_CLIENT)];
const instant = await compare(clients, perRound, rounds, {
  a: () => [urlA + "/page"],
  b: (c) => [urlB + "/page", nextCookie(c)],
  "b-same": (c) => [urlB + "/page", cookies[c * PER_CLIENT]],
});
const slow = await compare(clients, 200, 2, {
  a: () => [urlA + "/slow"],
  b: (c) => [urlB + "/slow", nextCookie(c)],
});

const handoff = [];
for (let i = 0; i < 3; i++) {
  const t0 = Date.now();
  const rs = await Promise.all(Array.from({ length: 50 }, () => get(urlB + "/slow", cookies[0])));
  if (rs.some((r) => r.status !== 200)) throw new Error("hand-off request failed");
  handoff.push(Date.now() - t0);
}
const handoffMs = median(handoff);
const wasm = readFileSync(path.join(root, "build/index_bg.wasm"));

const { a, b } = instant;
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0].model}, node ${process.version}`);
console.log(`load: ${clients} concurrent clients, ${rounds} alternating rounds of ${perRound} requests each`);
console.log(`(a) pass-through  p50 ${fmt(a.p50)} ms  p99 ${fmt(a.p99)} ms  ${a.rps.toFixed(0)} req/s`);
console.log(`(b) session proxy p50 ${fmt(b.p50)} ms  p99 ${fmt(b.p99)} ms  ${b.rps.toFixed(0)} req/s`);
console.log(`ratio b/a: p50 ${fmt(b.p50 / a.p50)}  p99 ${fmt(b.p99 / a.p99)}  throughput ${fmt(b.rps / a.rps)}`);
const same = instant["b-same"];
console.log(`(b) with each client reusing one session back to back: p50 ${fmt(same.p50)} ms (ratio ${fmt(same.p50 / a.p50)})`);
console.log(`with a 10 ms origin: (a) p50 ${fmt(slow.a.p50)} ms  (b) p50 ${fmt(slow.b.p50)} ms  ratio ${fmt(slow.b.p50 / slow.a.p50)}`);
console.log(`lock hand-off: 50 requests on one session, 10 ms origin: median ${handoffMs} ms total vs 500 ms floor -> ${fmt((handoffMs - 500) / 50)} ms overhead per request (runs: ${handoff.join(", ")} ms)`);
console.log(`wasm: ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} bytes gzipped`);

await passThrough.dispose();
await proxy.dispose();
agent.destroy();
origin.close();
