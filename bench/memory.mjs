// Memory per request (issue 17): drives each target on workerd with a mixed load for a fixed
// count of requests and samples, every requests/samples requests:
//   rss    the resident set of the target's workerd processes (/proc/<pid>/status, VmRSS)
//   heap   the JS heap of the target's isolate (the worker and its SessionLock objects share
//          it) after a full GC, from the V8 inspector (Runtime.getHeapUsage)
//   wasm   the linear memory of every engine instance in that isolate, summed: the inspector
//          finds each WebAssembly.Memory (Runtime.queryObjects on WebAssembly.Memory.prototype)
//          and reads buffer.byteLength (no hook in the production code)
// It prints each series' least-squares slope in bytes per request after warm-up (the first
// 20 % of the requests are left out), the final values and the largest wasm memory, and for
// the JS heap the object kinds (heap snapshot, by constructor) that grew after warm-up.
// Target: the heap and wasm slopes under 16 B/request and the wasm memory under WASM_BOUND_MB
// (16 MiB by default: an isolate is limited to 128 MB); the exit status is 1 if a target misses
// either. The RSS slope is printed with the same 16 B/request mark but does not set the exit
// status: it is the whole workerd process, and local workerd's RSS grows by ~10 KB per Durable
// Object instantiation even for an object that does nothing (reproduced with a ten-line empty
// object, no code of ours), so it follows how many objects the mix creates, not our code.
//
// Targets (each its own workerd, one after the other, in front of tests/e2e/origin.mjs):
//   proxy     js/proxy.js: new sessions, reads, writes, regenerates, destroys, log in as a user,
//             log out others and everywhere, origin 500/502, bad origin headers, a lock-wait
//             timeout (503), a lease overrun by a slow origin (409), client aborts while the
//             origin holds the request (the lock held), WebSocket upgrades
//   js        the JS example worker (examples/js-worker, bundled by wrangler as
//             tests/e2e/js-worker.test.mjs does): counter, whoami, login (regenerate),
//             logout (destroy), flash, nested values, explicit locking, handler bugs (500),
//             a route without a session, an unknown route (it has no origin, so no aborts
//             with the lock held: js-users has them)
//   js-users  the JS package's per-user routes (tests/e2e/user-worker.mjs): login as a user,
//             reads, writes, list, log out others, log out everywhere (destroyUser), an invalid
//             user id (500), a handler holding the lock at the origin, aborted by the client
// Each client keeps a few "devices" (cookie jars that follow Set-Cookie); a device that starts
// a new session drops its cookie first. SESSION_TIMEOUT is 10 s so that the live sessions
// reach a steady state during warm-up: with the default 60 minutes every session of the run
// would still be live at its end, which is storage, not a per-request cost. (workerd keeps a
// SessionLock object in memory until ~10 s after its last call, and its expiry alarm wakes it
// once more; each live object costs workerd 200-350 KB of RSS (an empty object ~200 KB), so
// RSS follows the number of objects live at once, a rate, and workerd's allocator, tcmalloc,
// keeps its high water mark.)
//
// Why the inspector calls look the way they do: workerd answers inspector messages while the
// isolate is idle, but HeapProfiler.collectGarbage only posts a GC task that runs the next time
// the isolate has work, so on an idle worker it never answers (the previous draft hung there).
// HeapProfiler.takeHeapSnapshot, which workerd runs at once and which starts with a full GC, is
// used instead. Runtime.evaluate needs a contextId (workerd has no default context): the ids
// come from Runtime.enable's executionContextCreated events, and Runtime is disabled again so
// the inspector does not keep console messages. Every CDP call has a timeout.
//
// Usage: node bench/memory.mjs [requests=100000] [clients=8] [samples=40] [targets=proxy,js,js-users]
//   e.g. node bench/memory.mjs 3000 (a quick run); WASM_BOUND_MB (default 16) sets the bound.
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { PROXY_SCRIPT, agent, cdp, freePort, root, serve, wasmWorker } from "./lib.mjs";
import { startOrigin } from "../tests/e2e/origin.mjs";

// Node 20 has WebSocket behind a flag: run again with it.
if (typeof WebSocket === "undefined") {
  const r = spawnSync(process.execPath, ["--experimental-websocket", ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const args = process.argv.slice(2);
const N = Number(args[0] ?? 100000);
const CLIENTS = Number(args[1] ?? 8);
const SAMPLES = Number(args[2] ?? 40);
const TARGETS = (args[3] ?? "proxy,js,js-users").split(",");
const WASM_BOUND = Number(process.env.WASM_BOUND_MB ?? 16) * 1048576;
const WARMUP = 0.2; // share of the requests left out of the slopes
const FLAT = 16; // bytes per request
const DEVICES = 6; // cookie jars per client
const NAME = "__Host-session";
const VARS = { SESSION_TIMEOUT: "10s", SESSION_LOCK_TIMEOUT: "200ms", SESSION_LOCK_LEASE: "1s", SESSION_USER_CAP: "8" };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Objects of a heap snapshot grouped by constructor (other node types by type):
 * key -> { count, bytes } (self sizes). */
function heapSummary(text) {
  const snap = JSON.parse(text);
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [T, NM, SZ] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + T]];
    const key = type === "object" || type === "closure" ? `${snap.strings[snap.nodes[i + NM]]}${type === "closure" ? "()" : ""}` : `(${type})`;
    const e = out.get(key) ?? out.set(key, { count: 0, bytes: 0 }).get(key);
    e.count++;
    e.bytes += snap.nodes[i + SZ];
  }
  return out;
}

/** The sampler of one target: its isolate's inspector and its workerd pids. */
async function sampler(inspectorPort, name, pids) {
  const list = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
  const target = list.find((t) => t.id === `core:user:${name}`);
  if (!target) throw new Error(`no inspector target core:user:${name}: ${JSON.stringify(list.map((t) => t.id))}`);
  const s = await cdp(target.webSocketDebuggerUrl);
  let chunks = [];
  s.on("HeapProfiler.addHeapSnapshotChunk", (p) => chunks.push(p.chunk));
  const contexts = new Set();
  s.on("Runtime.executionContextCreated", (p) => contexts.add(p.context.id));
  const group = "memory-bench";

  /** Sizes of every WebAssembly.Memory in the isolate (each context has its own prototype). */
  async function wasmSizes() {
    contexts.clear();
    await s.send("Runtime.enable"); // reports every live context first
    await s.send("Runtime.disable");
    const sizes = [];
    for (const contextId of contexts) {
      const proto = await s.send("Runtime.evaluate", { expression: "WebAssembly.Memory.prototype", contextId, objectGroup: group });
      const { objects } = await s.send("Runtime.queryObjects", { prototypeObjectId: proto.result.objectId, objectGroup: group });
      const r = await s.send("Runtime.callFunctionOn", {
        objectId: objects.objectId,
        functionDeclaration: "function () { return this.map((m) => m.buffer.byteLength); }",
        returnByValue: true,
      });
      sizes.push(...r.result.value);
    }
    await s.send("Runtime.releaseObjectGroup", { objectGroup: group });
    return sizes;
  }

  return {
    /** One sample; with `summary`, the heap snapshot's object counts too. */
    async take(summary = false) {
      const wasm = await wasmSizes();
      await s.send("Runtime.discardConsoleEntries");
      chunks = [];
      await s.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false, captureNumericValue: false }, 120000);
      const heap = await s.send("Runtime.getHeapUsage");
      const text = chunks.join("");
      chunks = [];
      const rss = pids.reduce((sum, pid) => {
        const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
        return sum + (m ? Number(m[1]) * 1024 : 0);
      }, 0);
      return { rss, heap: heap.usedSize, wasm: wasm.reduce((a, b) => a + b, 0), instances: wasm.length, summary: summary ? heapSummary(text) : null };
    },
    close: () => s.close(),
  };
}

// ---- the client ----

/**
 * One request of `device` (a cookie jar: { cookie }), which follows the Set-Cookie it gets.
 * `abortAt`: a gate name of the origin; once the request is parked there, the client drops the
 * connection, then the gate is opened. `upgrade`: a WebSocket handshake; the client reads the
 * origin's frame and closes. Resolves to the status, "aborted", or "reset (...)" when the
 * connection failed.
 */
function send(base, origin, p, device, { abortAt, upgrade } = {}) {
  return new Promise((resolve) => {
    const headers = device.cookie ? { cookie: `${NAME}=${device.cookie}` } : {};
    if (upgrade) Object.assign(headers, { connection: "Upgrade", upgrade: "websocket", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" });
    // a connection of its own for the requests whose socket is dropped or taken over
    const req = http.request(`${base}${p}`, { headers, agent: abortAt || upgrade ? false : agent });
    const follow = (res) => {
      const c = (res.headers["set-cookie"] ?? []).find((v) => v.startsWith(NAME + "="));
      if (c) device.cookie = c.slice(NAME.length + 1).split(";")[0] || null;
    };
    req.on("response", (res) => {
      follow(res);
      res.resume();
      res.on("end", () => resolve(res.statusCode));
      res.on("error", () => resolve("aborted"));
    });
    req.on("upgrade", (res, socket) => {
      follow(res);
      // the origin's "hello" frame, then a masked close frame (RFC 6455); the origin ends
      socket.once("data", () => socket.write(Buffer.from([0x88, 0x80, 1, 2, 3, 4])));
      socket.on("error", () => {});
      const timer = setTimeout(() => socket.destroy(), 2000);
      socket.on("close", () => (clearTimeout(timer), resolve(101)));
    });
    // a connection reset (a kept-alive socket the server closed as the request went out) is
    // counted as such in the statuses, not a reason to stop the run
    req.on("error", (err) => resolve(abortAt ? "aborted" : `reset (${err.code ?? err.message})`));
    req.end();
    if (abortAt) {
      origin.arrived(abortAt).then(async () => {
        req.destroy();
        device.cookie = null; // the browser gave up on this session's answer
        await sleep(20); // workerd sees the dropped connection before the origin answers
        origin.open(abortAt);
      });
    }
  });
}

// ---- the targets ----

let gates = 0;
const gate = () => `g${++gates}`; // a fresh origin gate name
let turns = 0;
const alt = (xs) => xs[turns++ % xs.length]; // the variants of a kind in turn

/** The mixes: [kind, weight, run(request, device, client)]; request(path, device, opts). */
const PROXY_MIX = [
  ["new session", 3, (rq, d) => ((d.cookie = null), rq("/incr", d))],
  ["read", 6, (rq, d) => rq("/echo", d)],
  ["write", 5, (rq, d) => rq("/incr", d)],
  ["write 2 KB", 1, (rq, d) => rq("/big?bytes=2000", d)],
  ["regenerate", 1, (rq, d) => rq("/regenerate?r=1", d)],
  ["destroy", 1, (rq, d) => rq("/destroy", d)],
  ["login as user", 1, (rq, d, c) => rq(`/login-user?user=u${c}-${alt([0, 1, 2])}&client=bench`, d)],
  ["log in, log out others", 1, (rq, d, c) => loginThen(rq, d, c, "/login-user", "/logout-others")],
  ["log in, log out everywhere", 1, (rq, d, c) => loginThen(rq, d, c, "/login-user", "/logout-everywhere")],
  ["origin 500", 1, (rq, d) => rq("/status?code=500", d)],
  ["origin 502", 1, (rq, d) => rq("/status?code=502", d)],
  ["bad origin headers", 1, (rq, d) => rq(alt(["/badpatch", "/badaction"]), d)],
  ["lock-wait timeout", 1, lockTimeout],
  ["lease overrun", 0.25, (rq, d) => rq("/set?k=late&delay=1100", d)],
  ["client abort, lock held", 1, (rq, d) => abort(rq, d, "/set?k=abort")],
  ["websocket", 1, (rq, d) => rq("/ws", d, { upgrade: true })],
];

/** Logs the device in (the target's route `login`) as one of its client's users (other
 * devices of that user may be logged in already), then sends `p`; resolves to p's status. */
async function loginThen(rq, d, c, login, p) {
  await rq(`${login}?user=u${c}-${alt([0, 1, 2])}&client=bench`, d);
  return rq(p, d);
}

/** `p` (a route taking &gate=) is sent and dropped by the client while the origin holds it. */
function abort(rq, d, p) {
  const g = gate();
  return rq(`${p}${p.endsWith("?") ? "" : "&"}gate=${g}`, d, { abortAt: g });
}

/** A request parks at the origin holding the lock; a second one on the same session waits out
 * SESSION_LOCK_TIMEOUT (503); then the first is let through. Resolves to the second's status. */
async function lockTimeout(rq, d, c, origin) {
  if (!d.cookie) await rq("/incr", d);
  const g = gate();
  const holder = rq(`/set?k=held&gate=${g}`, d);
  // the holder may never reach the origin (another client's request held the lock, or the
  // session ended): then there is nothing to wait out, and waiting for it would stall
  const reached = await Promise.race([origin.arrived(g).then(() => true), holder.then(() => false)]);
  if (!reached) return holder;
  const waiter = await rq("/incr", { cookie: d.cookie });
  origin.open(g);
  await holder;
  return waiter;
}

const JS_MIX = [
  ["new session", 3, (rq, d) => ((d.cookie = null), rq("/count", d))],
  ["read", 6, (rq, d) => rq("/whoami", d)],
  ["write", 5, (rq, d) => rq("/count", d)],
  ["flash set/read", 1, (rq, d) => rq(alt(["/flash?set=hi", "/flash"]), d)],
  ["nested write", 1, (rq, d) => rq(alt(["/nested?step=1", "/nested?step=2"]), d)],
  ["explicit lock", 1, (rq, d) => rq("/explicit", d)],
  ["regenerate", 1, (rq, d) => rq("/login?user=ann", d)],
  ["destroy", 1, (rq, d) => rq("/logout", d)],
  ["handler bug", 1, (rq, d) => rq(alt(["/not-a-response", "/used-body", "/bad-key"]), d)],
  ["no session", 1, (rq, d) => rq("/health", d)],
  ["not found", 1, (rq, d) => rq("/nope", d)],
];

const USERS_MIX = [
  ["login as user (new)", 2, (rq, d, c) => ((d.cookie = null), rq(`/login?user=u${c}-${alt([0, 1, 2])}&client=bench`, d))],
  ["regenerate (login again)", 1, (rq, d, c) => rq(`/login?user=u${c}-${alt([0, 1, 2])}`, d)],
  ["read", 6, (rq, d) => rq("/me", d)],
  ["write", 5, (rq, d) => rq("/incr", d)],
  ["log in, list user", 1, (rq, d, c) => loginThen(rq, d, c, "/login", "/list")],
  ["log in, log out others", 1, (rq, d, c) => loginThen(rq, d, c, "/login", "/logout-others")],
  ["log out everywhere", 1, (rq, d, c) => rq(`/destroy-user?user=u${c}-${alt([0, 1, 2])}`, d)],
  ["invalid user id", 0.5, (rq, d) => rq("/login?user=not%20a%20token", d)],
  ["origin while locked", 1, (rq, d, c, origin) => {
    const g = gate();
    origin.arrived(g).then(() => origin.open(g));
    return rq(`/hold-incr?gate=${g}`, d);
  }],
  ["client abort, lock held", 1, (rq, d) => abort(rq, d, "/hold-incr?")],
];

/** Bundles examples/js-worker with wrangler (as tests/e2e/js-worker.test.mjs does) into a
 * temporary directory and returns its modules with their contents, named under bench/ (no file
 * is written into the repository). */
function exampleModules() {
  const out = mkdtempSync(path.join(os.tmpdir(), "edge-sessions-memory-"));
  try {
    execFileSync(path.join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "-c", "examples/js-worker/wrangler.toml", "--outdir", out], {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      stdio: "pipe",
    });
    const modules = [];
    for (const f of readdirSync(out)) {
      const type = f.endsWith(".js") ? "ESModule" : f.endsWith(".wasm") ? "CompiledWasm" : null;
      if (type) modules.push({ type, path: `bench/.memory-js-worker/${f}`, contents: readFileSync(path.join(out, f), type === "ESModule" ? "utf8" : null) });
    }
    // the entry first
    return modules.sort((a, b) => (b.path.endsWith("/index.js") ? 1 : 0) - (a.path.endsWith("/index.js") ? 1 : 0));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function targetOptions(name, originUrl) {
  const bindings = { ...VARS, ORIGIN: originUrl };
  if (name === "proxy") return { options: wasmWorker(PROXY_SCRIPT, bindings), mix: PROXY_MIX };
  if (name === "js-users") return { options: wasmWorker("tests/e2e/user-worker.mjs", bindings), mix: USERS_MIX };
  if (name === "js") {
    // the bindings and storage of wasmWorker, the bundle's modules instead of a script path
    const { scriptPath, modulesRules, ...options } = wasmWorker(PROXY_SCRIPT, bindings);
    return { options: { ...options, modules: exampleModules() }, mix: JS_MIX };
  }
  throw new Error(`unknown target ${name} (proxy, js, js-users)`);
}

/** The weighted mix as one cycle of kind indexes, 4 slots per unit of weight, each kind's
 * slots spread evenly over the cycle. */
function cycle(mix) {
  const slots = [];
  for (const [i, [, w]] of mix.entries()) {
    const n = Math.max(1, Math.round(w * 4));
    for (let j = 0; j < n; j++) slots.push({ at: (j + 0.5) / n + i * 1e-6, kind: i });
  }
  return slots.sort((a, b) => a.at - b.at).map((s) => s.kind);
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return sxx ? sxy / sxx : 0;
}

const mb = (b) => (b / 1048576).toFixed(2);

async function run(name) {
  const origin = await startOrigin();
  const { options, mix } = targetOptions(name, origin.url);
  const inspectorPort = await freePort();
  const { mf, url, pids } = await serve({
    ...options,
    name,
    inspectorPort,
    handleRuntimeStdio: (stdout, stderr) => (stdout.resume(), stderr.resume()), // the worker's logs
  });
  const probe = await sampler(inspectorPort, name, pids);
  const order = cycle(mix);
  const status = mix.map(() => new Map()); // per kind: status -> count
  const devices = Array.from({ length: CLIENTS }, () => Array.from({ length: DEVICES }, () => ({ cookie: null })));
  let sent = 0; // HTTP requests (a kind may send two)
  const rq = (p, d, opts) => (sent++, send(url, origin, p, d, opts));

  const samples = [{ at: 0, ...(await probe.take()) }];
  const every = Math.max(1, Math.floor(N / SAMPLES));
  const t0 = Date.now();
  let turn = 0;
  let summaryFrom = null;
  while (sent < N) {
    const end = Math.min(N, sent + every);
    await Promise.all(
      devices.map(async (mine, c) => {
        while (sent < end) {
          const k = order[turn++ % order.length];
          const d = mine[Math.floor(Math.random() * mine.length)];
          const st = await mix[k][2](rq, d, c, origin);
          status[k].set(st, (status[k].get(st) ?? 0) + 1);
        }
      })
    );
    origin.seen.length = 0; // the test origin keeps every request it saw: not ours to measure
    // the first sample past warm-up and the last keep the heap snapshot's object counts
    const summary = (summaryFrom === null && sent >= WARMUP * N) || sent >= N;
    const s = { at: sent, ...(await probe.take(summary)) };
    if (summary && summaryFrom === null) summaryFrom = s;
    samples.push(s);
    if (process.env.MEMORY_VERBOSE) console.error(`${name}: ${sent} sent, rss ${mb(s.rss)} heap ${mb(s.heap)} wasm ${mb(s.wasm)}`);
  }
  const seconds = (Date.now() - t0) / 1000;
  probe.close();
  await mf.dispose();
  await origin.close();
  return { name, mix, status, samples, seconds, summaryFrom };
}

function report({ name, mix, status, samples, seconds, summaryFrom }) {
  const last = samples[samples.length - 1];
  console.log(`\n== ${name}: ${last.at} requests, ${CLIENTS} clients, ${seconds.toFixed(0)} s (${(last.at / seconds).toFixed(0)} req/s)`);
  console.log("statuses by kind:");
  for (const [i, [kind]] of mix.entries()) {
    const counts = [...status[i]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))).map(([s, n]) => `${s}: ${n}`);
    console.log(`  ${kind.padEnd(26)} ${counts.join(", ")}`);
  }
  console.log("requests     rss MB   heap MB   wasm MB  instances");
  for (const s of samples) console.log(`${String(s.at).padStart(8)} ${mb(s.rss).padStart(10)} ${mb(s.heap).padStart(9)} ${mb(s.wasm).padStart(9)} ${String(s.instances).padStart(10)}`);
  const after = samples.filter((s) => s.at >= WARMUP * N);
  let ok = true;
  console.log(`after warm-up (requests ${after[0].at} to ${last.at}, ${after.length} samples):`);
  for (const k of ["rss", "heap", "wasm"]) {
    const b = slope(after.map((s) => ({ x: s.at, y: s[k] })));
    const flat = Math.abs(b) < FLAT;
    if (k !== "rss") ok &&= flat;
    const verdict = flat ? "(flat: under 16)" : k === "rss" ? "(grows: workerd's own, not judged)" : "(GROWS)";
    console.log(`  slope ${k.padEnd(4)} ${b.toFixed(2).padStart(9)} B/request ${verdict}   final ${mb(last[k])} MB`);
  }
  const maxWasm = Math.max(...samples.map((s) => s.wasm));
  const bounded = maxWasm <= WASM_BOUND;
  ok &&= bounded;
  console.log(`  largest wasm memory ${mb(maxWasm)} MB over ${Math.max(...samples.map((s) => s.instances))} instance(s); bound ${mb(WASM_BOUND)} MB: ${bounded ? "kept" : "EXCEEDED"}`);
  const a = summaryFrom.summary;
  const b = last.summary;
  const grew = [...b]
    .map(([k, v]) => ({ k, count: v.count - (a.get(k)?.count ?? 0), bytes: v.bytes - (a.get(k)?.bytes ?? 0) }))
    .filter((g) => g.bytes > 0)
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, 8);
  console.log(`  JS heap objects that grew from request ${summaryFrom.at} to ${last.at} (heap snapshots, self sizes):`);
  for (const g of grew) console.log(`    ${("+" + g.bytes).padStart(10)} B ${("+" + g.count).padStart(8)} objects  ${g.k}`);
  if (!grew.length) console.log("    none");
  return ok;
}

let allOk = true;
console.log(`memory per request: ${N} requests per target, ${CLIENTS} clients, sampled every ${Math.max(1, Math.floor(N / SAMPLES))} requests; vars ${JSON.stringify(VARS)}`);
for (const t of TARGETS) allOk = report(await run(t)) && allOk;
agent.destroy();
console.log(`\n${allOk ? "every target's JS heap and wasm memory flat, and the wasm memory within its bound" : "a target's JS heap or wasm memory GREW, or the wasm memory exceeded its bound"}`);
process.exit(allOk ? 0 : 1);
