// Benchmark of the JavaScript package, in one run on local workerd (Miniflare's API):
//   the example JS worker answering with a session (an existing session per client, implicit
//   locking, read-only) against the same worker answering without touching sessions; and the
//   cost of compiling and instantiating the wasm module (a cold start's share), in V8.
// Usage: node bench/js-bench.mjs [requestsPerRound=1000] [rounds=4] [clients=8]
// Needs scripts/build.sh first.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import os from "node:os";
import { Miniflare } from "miniflare";
import { agent, compare, fmt, get, median, root, wasmWorker } from "./lib.mjs";

const [perRound = 1000, rounds = 4, clients = 8] = process.argv.slice(2).map(Number);

const out = path.join(root, "examples/js-worker/dist");
rmSync(out, { recursive: true, force: true });
execFileSync(path.join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "-c", "examples/js-worker/wrangler.toml", "--outdir", out], {
  cwd: root,
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  stdio: "pipe",
});

const mf = new Miniflare(wasmWorker("examples/js-worker/dist/index.js"));
const base = (await mf.ready).href.replace(/\/$/, "");

const cookies = [];
for (let i = 0; i < clients; i++) {
  const r = await get(base + "/count"); // stores {count: 1}
  cookies.push(r.setCookie[0].split(";")[0]);
}
const { a: A, b: B } = await compare(clients, perRound, rounds, {
  a: () => [base + "/health"],
  b: (c) => [base + "/whoami", cookies[c]],
});
await mf.dispose();
agent.destroy();

// Cold start share: compile + instantiate the package's wasm in V8 (the engine workerd uses).
const bytes = readFileSync(path.join(root, "js/dist/engine.wasm"));
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

console.log(`machine: ${os.cpus().length} x ${os.cpus()[0].model}, node ${process.version}`);
console.log(`load: ${clients} concurrent clients, ${rounds} alternating rounds of ${perRound} requests each`);
console.log(`without sessions (/health) p50 ${fmt(A.p50)} ms  p99 ${fmt(A.p99)} ms  ${A.rps.toFixed(0)} req/s`);
console.log(`with a session   (/whoami) p50 ${fmt(B.p50)} ms  p99 ${fmt(B.p99)} ms  ${B.rps.toFixed(0)} req/s`);
console.log(`ratio with/without: p50 ${fmt(B.p50 / A.p50)}  throughput ${fmt(B.rps / A.rps)}`);
console.log(`wasm ${bytes.length} bytes: compile median ${fmt(median(compile))} ms, instantiate median ${fmt(median(instantiate))} ms (15 runs)`);
