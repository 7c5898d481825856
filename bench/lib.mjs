// Shared pieces of the benchmark scripts: where the proxy worker lives, a keep-alive HTTP
// client that times each request, a closed-loop load round, percentiles, alternating
// comparisons, and the CPU time of the workerd processes serving each target.
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Miniflare } from "miniflare";
// Miniflare options for our built workers come from the end-to-end harness.
import { root, workerOptions, processTable, withDescendants, workerdPids } from "../tests/e2e/harness.mjs";
export { root, workerdPids };

/** The proxy worker's module, relative to the repository. The one place its path is named in
 * bench/ (it is moving to js/proxy.js); PROXY_SCRIPT=... in the environment overrides it. */
export const PROXY_SCRIPT = process.env.PROXY_SCRIPT ?? "js/proxy.js";

/** Miniflare options for one of our built workers, logging as deployed (the tests log at
 * debug level to read the KV mirror writes; a benchmark must not pay for that). */
export function wasmWorker(scriptPath, bindings = {}) {
  const options = workerOptions(scriptPath, { SESSION_LOG_LEVEL: "info", ...bindings });
  // Miniflare parses an imported .js module as CommonJS by default; ours are all ES modules
  // ("type": "module"), and a proxy entry that imports others (js/ does) needs this.
  options.modulesRules = [...(options.modulesRules ?? []), { type: "ESModule", include: ["**/*.js"], fallthrough: true }];
  return options;
}

/** The first .wasm file a worker module imports, directly or through its relative JS imports
 * (js/ re-exports through a chain of modules), relative to the repository, or null: for the
 * size line and to look for a var name in the engine. */
export function importedWasm(scriptPath) {
  const seen = new Set();
  const queue = [scriptPath];
  while (queue.length) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    let text;
    try {
      text = readFileSync(path.join(root, file), "utf8");
    } catch {
      continue; // e.g. a bare or generated specifier we cannot follow
    }
    for (const [, spec] of text.matchAll(/from\s*["'](\.{1,2}\/[^"']+)["']/g)) {
      const dep = path.relative(root, path.resolve(root, path.dirname(file), spec));
      if (dep.endsWith(".wasm")) return dep;
      queue.push(dep);
    }
  }
  return null;
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** GET `url`, resolving to the latency in ms, the status and the Set-Cookie values. */
export function get(url, cookie) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http
      .get(url, { agent, headers: cookie ? { cookie } : {} }, (res) => {
        const setCookie = res.headers["set-cookie"] || [];
        res.resume();
        res.on("end", () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, setCookie }));
      })
      .on("error", reject);
  });
}

/** `clients` closed-loop clients send `n` requests in all; client c sends `target(c)`. */
export async function round(clients, n, target) {
  const lat = [];
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (next < n) {
        next++;
        const [url, cookie] = target(c);
        const r = await get(url, cookie);
        if (r.status !== 200) throw new Error(`status ${r.status} from ${url}`);
        lat.push(r.ms);
      }
    })
  );
  return { lat, rps: lat.length / ((Date.now() - t0) / 1000) };
}

export const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
export const median = (xs) => pct(xs, 50);
export const fmt = (x) => x.toFixed(2);

// ---- CPU time of workerd, from /proc (Linux only) ----

/** Clock ticks per second of utime/stime in /proc/<pid>/stat (usually 100, i.e. 10 ms). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU clock ticks used so far by `pids` and their descendants. */
export function cpuTicks(pids) {
  const table = processTable();
  return withDescendants(table, pids).reduce((sum, pid) => sum + (table.get(pid)?.ticks ?? 0), 0);
}

/** Starts a Miniflare instance and returns it with its base URL and the workerd pids it
 * started (found by difference, so start instances one at a time). */
export async function serve(options) {
  const before = new Set(workerdPids());
  const mf = new Miniflare(options);
  const url = (await mf.ready).href.replace(/\/$/, "");
  return { mf, url, pids: workerdPids().filter((p) => !before.has(p)) };
}

// ---- comparisons ----

/** Alternates rounds of each named target, collecting per-round p50, p99 and throughput, and
 * with `pids` (name -> workerd pids serving it) the CPU µs per request of those processes;
 * returns the medians over rounds. Every other process should be idle during a round. */
export async function compare(clients, perRound, rounds, targets, { pids = {} } = {}) {
  const acc = Object.fromEntries(Object.keys(targets).map((k) => [k, { p50: [], p99: [], rps: [], cpuUs: [] }]));
  for (const t of Object.values(targets)) await round(clients, 200, t); // warm-up
  for (let i = 0; i < rounds; i++) {
    for (const [k, t] of Object.entries(targets)) {
      const ticks0 = pids[k] ? cpuTicks(pids[k]) : 0;
      const { lat, rps } = await round(clients, perRound, t);
      if (pids[k]) acc[k].cpuUs.push(((cpuTicks(pids[k]) - ticks0) * 1e6) / CLK_TCK / lat.length);
      acc[k].p50.push(pct(lat, 50));
      acc[k].p99.push(pct(lat, 99));
      acc[k].rps.push(rps);
    }
  }
  const out = {};
  for (const [k, a] of Object.entries(acc)) {
    out[k] = { p50: median(a.p50), p99: median(a.p99), rps: median(a.rps), cpuUs: a.cpuUs.length ? median(a.cpuUs) : null };
  }
  return out;
}

// ---- the benchmark origin and the peer ----

/** The origin the proxy benchmarks sit in front of, on loopback: /seed stores ~1 KB in the
 * session, /write updates it ({"n": counter}), /slow takes 10 ms, anything else (/read) is
 * instant and leaves the session alone. Resolves to { url, close }. */
export async function benchOrigin() {
  let counter = 0;
  const server = http.createServer(async (req, res) => {
    const headers = { "content-type": "text/plain" };
    const update = (patch) => (headers["x-session-update"] = Buffer.from(JSON.stringify(patch)).toString("base64url"));
    if (req.url.startsWith("/seed")) update({ seeded: true, pad: "x".repeat(900) });
    if (req.url.startsWith("/write")) update({ n: ++counter });
    if (req.url.startsWith("/slow")) await new Promise((r) => setTimeout(r, 10));
    res.writeHead(200, headers);
    res.end("hello from the origin\n");
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** Miniflare options for the lock-free JS Durable Object peer (bench/peer-do-session.mjs),
 * the session worker a user would write instead, in front of `origin`. Its cookie is
 * PEER_COOKIE. */
export const peerOptions = (origin) => ({
  modules: true,
  compatibilityDate: "2025-11-01",
  rootPath: root,
  scriptPath: "bench/peer-do-session.mjs",
  bindings: { ORIGIN: origin, SESSION_SECRET: "peer-bench-secret-0123456789abcdef-0123" },
  durableObjects: { PEER_SESSIONS: { className: "PeerSession", useSQLite: true } },
});
export const PEER_COOKIE = "peer-session";

// ---- the V8 inspector (bench/profile.mjs, bench/memory.mjs) ----

/** A free loopback port (for an inspector). */
export const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** A Chrome DevTools Protocol client over one inspector WebSocket; every call times out. */
export async function cdp(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
  let id = 0;
  const waiting = new Map();
  const listeners = new Map(); // event method -> handler
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.id === undefined) return listeners.get(msg.method)?.(msg.params);
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    clearTimeout(w.timer);
    msg.error ? w.reject(new Error(`${w.method}: ${JSON.stringify(msg.error)}`)) : w.resolve(msg.result ?? {});
  };
  ws.onclose = () => {
    for (const w of waiting.values()) w.reject(new Error(`${w.method}: inspector closed`));
    waiting.clear();
  };
  return {
    send(method, params = {}, timeoutMs = 30000) {
      const n = ++id;
      ws.send(JSON.stringify({ id: n, method, params }));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(n);
          reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(n, { method, resolve, reject, timer });
      });
    },
    on: (method, handler) => listeners.set(method, handler),
    close: () => ws.close(),
  };
}
