// Benchmark of the JavaScript package, in one run on local workerd (Miniflare's API):
//   the example JS worker answering with a session (an existing session per client, implicit
//   locking, read-only) against the same worker answering without touching sessions; and the
//   cost of compiling and instantiating the wasm module (a cold start's share), in V8.
// Usage: node bench/js-bench.mjs [requestsPerRound=1000] [rounds=4] [clients=8]
// Needs scripts/build.sh first.
import http from "node:http";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [perRound = 1000, rounds = 4, clients = 8] = process.argv.slice(2).map(Number);

const out = path.join(root, "examples/js-worker/dist");
rmSync(out, { recursive: true, force: true });
execFileSync(path.join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "-c", "examples/js-worker/wrangler.toml", "--outdir", out], {
  cwd: root,
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  stdio: "pipe",
});

const mf = new Miniflare({
  rootPath: root,
  scriptPath: "examples/js-worker/dist/index.js",
  modules: true,
  modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
  compatibilityDate: "2025-11-01",
  kvNamespaces: ["SESSIONS"],
  durableObjects: { SESSION_LOCKS: { className: "SessionLock", useSQLite: true } },
  bindings: { SESSION_SECRET: "bench-secret-0123456789abcdef-0123456789" },
});
const base = (await mf.ready).href.replace(/\/$/, "");
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function get(url, cookie) {
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

const cookies = [];
for (let i = 0; i < clients; i++) {
  const r = await get(base + "/count"); // stores {count: 1}
  cookies.push(r.setCookie[0].split(";")[0]);
}

async function round(route, useCookies, n) {
  const lat = [];
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (next < n) {
        next++;
        const r = await get(base + route, useCookies ? cookies[c] : undefined);
        if (r.status !== 200) throw new Error(`status ${r.status} on ${route}`);
        lat.push(r.ms);
      }
    })
  );
  return { lat, secs: (Date.now() - t0) / 1000 };
}
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const median = (xs) => pct(xs, 50);

await round("/health", false, 200);
await round("/whoami", true, 200);
const A = { p50: [], p99: [], rps: [] };
const B = { p50: [], p99: [], rps: [] };
for (let i = 0; i < rounds; i++) {
  for (const [route, useCookies, acc] of [["/health", false, A], ["/whoami", true, B]]) {
    const { lat, secs } = await round(route, useCookies, perRound);
    acc.p50.push(pct(lat, 50));
    acc.p99.push(pct(lat, 99));
    acc.rps.push(lat.length / secs);
  }
}
await mf.dispose();
agent.destroy();

// Cold start share: compile + instantiate the package's wasm in V8 (the engine workerd uses).
const bytes = readFileSync(path.join(root, "js/dist/worker/index.wasm"));
const stubImports = (module) => {
  const imports = {};
  for (const { module: m, name, kind } of WebAssembly.Module.imports(module)) {
    imports[m] ??= {};
    if (kind === "function") imports[m][name] = () => { throw new Error("stub"); };
    else if (kind === "tag") imports[m][name] = new WebAssembly.Tag({ parameters: ["externref"] });
    else if (kind === "table") imports[m][name] = new WebAssembly.Table({ initial: 0, element: "externref" });
    else if (kind === "global") imports[m][name] = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
    else if (kind === "memory") imports[m][name] = new WebAssembly.Memory({ initial: 1 });
  }
  return imports;
};
const compile = [];
const instantiate = [];
for (let i = 0; i < 15; i++) {
  const t0 = performance.now();
  const module = await WebAssembly.compile(bytes);
  const t1 = performance.now();
  await WebAssembly.instantiate(module, stubImports(module));
  const t2 = performance.now();
  compile.push(t1 - t0);
  instantiate.push(t2 - t1);
}

const f = (x) => x.toFixed(2);
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0].model}, node ${process.version}`);
console.log(`load: ${clients} concurrent clients, ${rounds} alternating rounds of ${perRound} requests each`);
console.log(`without sessions (/health) p50 ${f(median(A.p50))} ms  p99 ${f(median(A.p99))} ms  ${median(A.rps).toFixed(0)} req/s`);
console.log(`with a session   (/whoami) p50 ${f(median(B.p50))} ms  p99 ${f(median(B.p99))} ms  ${median(B.rps).toFixed(0)} req/s`);
console.log(`ratio with/without: p50 ${f(median(B.p50) / median(A.p50))}  throughput ${f(median(B.rps) / median(A.rps))}`);
console.log(`wasm ${bytes.length} bytes: compile median ${f(median(compile))} ms, instantiate median ${f(median(instantiate))} ms (15 runs)`);
