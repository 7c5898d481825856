// Shared pieces of the benchmark scripts: a keep-alive HTTP client that times each request,
// a closed-loop load round, and percentiles.
import http from "node:http";
// Miniflare options for our built workers come from the end-to-end harness.
import { workerOptions } from "../tests/e2e/harness.mjs";
export { root } from "../tests/e2e/harness.mjs";

/** Miniflare options for one of our built workers, logging as deployed (the tests log at
 * debug level to read the KV mirror writes; a benchmark must not pay for that). */
export const wasmWorker = (scriptPath, bindings = {}) =>
  workerOptions(scriptPath, { SESSION_LOG_LEVEL: "info", ...bindings });

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

/** Alternates rounds of each named target, collecting per-round p50, p99 and throughput. */
export async function compare(clients, perRound, rounds, targets) {
  const acc = Object.fromEntries(Object.keys(targets).map((k) => [k, { p50: [], p99: [], rps: [] }]));
  for (const t of Object.values(targets)) await round(clients, 200, t); // warm-up
  for (let i = 0; i < rounds; i++) {
    for (const [k, t] of Object.entries(targets)) {
      const { lat, rps } = await round(clients, perRound, t);
      acc[k].p50.push(pct(lat, 50));
      acc[k].p99.push(pct(lat, 99));
      acc[k].rps.push(rps);
    }
  }
  const out = {};
  for (const [k, a] of Object.entries(acc)) out[k] = { p50: median(a.p50), p99: median(a.p99), rps: median(a.rps) };
  return out;
}
