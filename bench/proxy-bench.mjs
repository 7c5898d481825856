// Benchmark of the proxy on local workerd (Miniflare's API, not wrangler dev, whose own proxy
// layer would dilute the ratios). One run measures, side by side in alternating rounds and in
// front of the same local origin, the targets in TARGETS below:
//   pass-through  a JS worker that only forwards (the baseline)
//   peer          a lock-free JS Durable Object session worker (bench/peer-do-session.mjs):
//                 what sessions cost done the usual way, without our locking
//   proxy         our proxy (PROXY_SCRIPT in lib.mjs), default settings (implicit locking)
//   proxy-after   our proxy with SESSION_COMMIT=after-response (skipped, with a note, if the
//                 build refuses the var)
//   proxy-base    only with PROXY_BASELINE=<path to an earlier build's js/proxy.js, inside
//                 this repository (bench/.tmp/, gitignored)>: that build, default settings,
//                 so a change is measured before and after in the same alternating rounds
// under two workloads, each client cycling through 16 stored sessions (~1 KB each) per target:
//   read   the origin answers without a session update
//   write  the origin answers with X-Session-Update {"n": <counter>} (the peer: get + put)
// For each: p50, p99, throughput, and the CPU time of the target's workerd process per
// request (utime + stime from /proc; the origin and the load generator run in this node
// process and are not counted), all medians of per-round figures, at each client count.
// Then, once, at the largest client count: the same session reused back to back and a 10 ms
// origin; and the lock hand-off: 50 concurrent requests on one session against a 10 ms
// origin, total time against 50 x 10 ms. Last, the spec's targets with PASS/FAIL
// (informational: the exit code is 0 either way).
// Usage: node bench/proxy-bench.mjs [requestsPerRound=1000] [rounds=4] [clients=1,8]
//   clients: one count or a comma list, e.g. 8 or 1,8. PROXY_SCRIPT=js/proxy.js overrides the
//   proxy worker's path. Needs scripts/build.sh first. Linux only (/proc).
import os from "node:os";
import path from "node:path";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { CLK_TCK, PEER_COOKIE, PROXY_SCRIPT, agent, benchOrigin, compare, fmt, get, importedWasm, median, peerOptions, root, serve, wasmWorker } from "./lib.mjs";

const args = process.argv.slice(2);
const perRound = Number(args[0] ?? 1000);
const rounds = Number(args[1] ?? 4);
const clientCounts = String(args[2] ?? "1,8").split(",").map(Number);
const maxClients = Math.max(...clientCounts);
const PER_CLIENT = 16; // sessions each client cycles through, per target
const WORKLOADS = ["read", "write"];

// ---- the origin (benchOrigin in lib.mjs) ----
const origin = await benchOrigin();
const ORIGIN = origin.url;

// ---- the targets: edit this list to add or drop one ----
// cookie: the target keeps sessions under this cookie name (seeded first, sent each request);
// ours: our proxy (gets the hand-off measurement); needsVar: a var the engine must know, or
// the target silently runs with default settings (looked up as a string in the wasm).
const js = (extra) => ({ modules: true, compatibilityDate: "2025-11-01", bindings: { ORIGIN }, ...extra });
const TARGETS = [
  {
    name: "pass-through",
    options: js({
      script: `export default { async fetch(req, env) {
        const u = new URL(req.url);
        return fetch(env.ORIGIN + u.pathname + u.search, { method: req.method, headers: req.headers, redirect: "manual" });
      } }`,
    }),
  },
  { name: "peer", cookie: PEER_COOKIE, options: peerOptions(ORIGIN) },
  { name: "proxy", cookie: "__Host-session", ours: true, options: wasmWorker(PROXY_SCRIPT, { ORIGIN }) },
  {
    name: "proxy-after",
    cookie: "__Host-session",
    ours: true,
    needsVar: "SESSION_COMMIT",
    options: wasmWorker(PROXY_SCRIPT, { ORIGIN, SESSION_COMMIT: "after-response" }),
  },
];
if (process.env.PROXY_BASELINE) {
  TARGETS.push({ name: "proxy-base", cookie: "__Host-session", ours: true, options: wasmWorker(process.env.PROXY_BASELINE, { ORIGIN }) });
}

const notes = [];
const proxyWasm = importedWasm(PROXY_SCRIPT);
const wasm = proxyWasm && readFileSync(path.join(root, proxyWasm));

/** Starts a target and seeds its sessions; returns it live, or null (with a note) if it
 * refuses its settings. */
async function start(t) {
  const s = await serve(t.options);
  Object.assign(t, s, { cookies: [], turn: new Array(maxClients).fill(0) });
  if (!t.cookie) return t;
  const probe = await fetch(t.url + "/seed"); // a refused var surfaces here, as a 500
  if (!probe.ok) {
    notes.push(`${t.name}: skipped, it answered ${probe.status}: ${(await probe.text()).trim().slice(0, 200)}`);
    await t.mf.dispose();
    return null;
  }
  if (t.needsVar && wasm && !wasm.includes(t.needsVar)) {
    notes.push(`${t.name}: ${proxyWasm} has no "${t.needsVar}" string: the var is probably ignored, so this is the default settings again`);
  }
  for (let i = 0; i < maxClients * PER_CLIENT; i++) {
    const r = await get(t.url + "/seed");
    const c = r.setCookie.find((v) => v.startsWith(t.cookie + "="));
    if (!c) throw new Error(`no ${t.cookie} cookie from ${t.name}`);
    t.cookies.push(c.split(";")[0]);
  }
  return t;
}

const live = [];
for (const t of TARGETS) {
  const s = await start(t);
  if (s) live.push(s);
}
const byName = Object.fromEntries(live.map((t) => [t.name, t]));

/** The next of client c's sessions at target t (none for a target without sessions). */
const nextCookie = (t, c) => t.cookie && t.cookies[c * PER_CLIENT + (t.turn[c]++ % PER_CLIENT)];

/** Every live target under every workload, alternating, with CPU per request. */
async function measure(clients) {
  const specs = {};
  const pids = {};
  for (const t of live) {
    for (const w of WORKLOADS) {
      specs[`${t.name}/${w}`] = (c) => [`${t.url}/${w}`, nextCookie(t, c)];
      pids[`${t.name}/${w}`] = t.pids;
    }
  }
  return compare(clients, perRound, rounds, specs, { pids });
}

/** The earlier run's extras: one session per client back to back, and a 10 ms origin. */
async function extras(clients) {
  const pass = byName["pass-through"];
  const proxy = byName.proxy;
  if (!pass || !proxy) return null;
  return compare(clients, Math.min(perRound, 500), 2, {
    "pass/read": () => [pass.url + "/read"],
    "same/read": (c) => [proxy.url + "/read", proxy.cookies[c * PER_CLIENT]],
    "pass/slow": () => [pass.url + "/slow"],
    "proxy/slow": (c) => [proxy.url + "/slow", nextCookie(proxy, c)],
  });
}

/** 50 concurrent requests on one session against the 10 ms origin; total ms per run. */
async function handoff(t) {
  const runs = [];
  for (let i = 0; i < Math.max(3, rounds); i++) {
    const t0 = Date.now();
    const rs = await Promise.all(Array.from({ length: 50 }, () => get(t.url + "/slow", t.cookies[0])));
    if (rs.some((r) => r.status !== 200)) throw new Error(`hand-off request failed at ${t.name}`);
    runs.push(Date.now() - t0);
  }
  return runs;
}

const results = {};
for (const clients of clientCounts) results[clients] = await measure(clients);
const extra = await extras(maxClients);
const handoffs = {};
for (const t of live.filter((t) => t.ours)) handoffs[t.name] = await handoff(t);

// ---- report ----

const cell = (v, digits = 2) => (v == null || !Number.isFinite(v) ? "-" : v.toFixed(digits));
const ratio = (a, b) => (a == null || b == null || b <= 0 ? null : a / b);

/** Per-target rows of one client count; the CPU overhead is over the pass-through's. */
function table(r) {
  const head = ["target", "workload", "p50 ms", "×pass", "p99 ms", "req/s", "CPU µs/req", "overhead µs", "×peer"];
  const widths = [13, 9, 8, 7, 8, 7, 11, 12, 7];
  const line = (cells) => cells.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(" ");
  const out = [line(head)];
  for (const w of WORKLOADS) {
    const base = r[`pass-through/${w}`];
    const peerOver = overhead(r, "peer", w);
    for (const t of live) {
      const x = r[`${t.name}/${w}`];
      const over = overhead(r, t.name, w);
      out.push(line([t.name, w, cell(x.p50), cell(ratio(x.p50, base?.p50)), cell(x.p99), cell(x.rps, 0), cell(x.cpuUs, 1), cell(over, 1), cell(t.name === "peer" || t.name === "pass-through" ? null : ratio(over, peerOver))]));
    }
  }
  return out;
}

/** CPU µs per request of target t over the pass-through's, under workload w. */
const overhead = (r, t, w) => (r[`${t}/${w}`] && r[`pass-through/${w}`] ? r[`${t}/${w}`].cpuUs - r[`pass-through/${w}`].cpuUs : null);

const verdict = (v, limit, strict = false) => (v == null ? "n/a" : (strict ? v < limit : v <= limit) ? "PASS" : "FAIL");

/** The spec's targets at one client count, one line each. */
function checks(r) {
  const p50 = (t, w) => r[`${t}/${w}`]?.p50;
  const rows = [
    ["read p50 ≤ 1.45× pass-through", "proxy", ratio(p50("proxy", "read"), p50("pass-through", "read")), 1.45],
    ["read p50 ≤ 1.45× pass-through", "proxy-after", ratio(p50("proxy-after", "read"), p50("pass-through", "read")), 1.45],
    ["write p50 ≤ peer's (default mode)", "proxy", ratio(p50("proxy", "write"), p50("peer", "write")), 1],
    ["write p50 ≤ 1.5× pass-through (after-response)", "proxy-after", ratio(p50("proxy-after", "write"), p50("pass-through", "write")), 1.5],
  ];
  for (const t of ["proxy", "proxy-after", "proxy-base"].filter((n) => live.some((x) => x.name === n))) {
    rows.push(["CPU overhead ≤ 1.3× peer's on reads", t, ratio(overhead(r, t, "read"), overhead(r, "peer", "read")), 1.3]);
    rows.push(["CPU overhead ≤ 1.2× peer's on writes", t, ratio(overhead(r, t, "write"), overhead(r, "peer", "write")), 1.2]);
  }
  return rows.map(([what, t, v, limit]) => `  ${what.padEnd(48)} ${t.padEnd(12)} ×${cell(v).padEnd(6)} ${verdict(v, limit)}`);
}

console.log(`machine: ${os.cpus().length} x ${os.cpus()[0].model}, node ${process.version}`);
console.log(`proxy: ${PROXY_SCRIPT}; targets: ${live.map((t) => t.name).join(", ")}`);
console.log(
  `CPU: utime+stime of each target's own workerd process, ${CLK_TCK} ticks/s: one tick per round = ${cell(1e6 / CLK_TCK / perRound, 1)} µs/request at ${perRound} requests per round` +
    (perRound < 500 ? " (under 500 requests per round: too coarse to trust)" : "")
);
for (const n of notes) console.log(`note: ${n}`);
for (const clients of clientCounts) {
  console.log(`\n${clients} client(s), ${rounds} alternating rounds of ${perRound} requests per target and workload (medians over rounds)`);
  for (const l of table(results[clients])) console.log(l);
}
if (extra) {
  const x = extra;
  console.log(`\n${maxClients} client(s), 2 alternating rounds:`);
  console.log(`proxy with each client reusing one session back to back: p50 ${fmt(x["same/read"].p50)} ms (ratio ${fmt(x["same/read"].p50 / x["pass/read"].p50)})`);
  console.log(`with a 10 ms origin: (a) p50 ${fmt(x["pass/slow"].p50)} ms  (b) p50 ${fmt(x["proxy/slow"].p50)} ms  ratio ${fmt(x["proxy/slow"].p50 / x["pass/slow"].p50)}`);
}
const perWaiter = {};
for (const [name, runs] of Object.entries(handoffs)) {
  const ms = median(runs);
  perWaiter[name] = (ms - 500) / 50;
  const who = name === "proxy" ? "" : ` (${name})`;
  console.log(`lock hand-off${who}: 50 requests on one session, 10 ms origin: median ${ms} ms total vs 500 ms floor -> ${fmt(perWaiter[name])} ms overhead per request (runs: ${runs.join(", ")} ms)`);
}
if (wasm) console.log(`wasm: ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} bytes gzipped (${proxyWasm})`);

console.log("\ntargets (informational):");
for (const clients of clientCounts) {
  console.log(` ${clients} client(s):`);
  for (const l of checks(results[clients])) console.log(l);
}
for (const [name, v] of Object.entries(perWaiter)) {
  console.log(`  ${"lock hand-off < 1 ms per waiter".padEnd(48)} ${name.padEnd(12)} ${(cell(v) + " ms").padEnd(7)} ${verdict(v, 1, true)}`);
}

for (const t of live) await t.mf.dispose();
agent.destroy();
origin.close();
