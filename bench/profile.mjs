// CPU profiles of the proxy under load, taken with the V8 inspector that workerd exposes
// (Miniflare's `inspectorPort`), and the top self-time functions of each workload.
//
// One workerd serves the proxy worker; its isolate runs both the worker and the SessionLock
// objects, so a profile holds both sides of a request. For each workload (read: the origin
// leaves the session alone; write: it sends X-Session-Update; anonymous: no cookie, so no
// object call, only the worker's side of a request; the peer, given no cookie, signs a new
// one, so its anonymous row is not like for like) the script seeds sessions, warms
// up, starts the sampling profiler, sends `n` requests from `clients` closed-loop clients,
// stops it and aggregates self time by function (name, file, line), wasm functions included.
// The same is done for the lock-free JS Durable Object peer (bench/peer-do-session.mjs) in the
// same run, so the two can be read side by side.
//
// wasm frames carry names only when the engine was built with its name section:
//   PROFILE=1 FORCE=1 scripts/build.sh   (then FORCE=1 scripts/build.sh to restore the release)
// Without it they show as wasm-function[N]; the script says which it saw.
//
// Usage: node bench/profile.mjs [requests=3000] [clients=4] [top=10] [workloads=read,write,anonymous]
//   PROFILE_JSON=dir writes each raw .cpuprofile there (open in Chrome DevTools).
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { PEER_COOKIE, PROXY_SCRIPT, agent, benchOrigin, cdp, freePort, get, peerOptions, round, serve, wasmWorker } from "./lib.mjs";

// Node 20 has WebSocket behind a flag: run again with it.
if (typeof WebSocket === "undefined") {
  const r = spawnSync(process.execPath, ["--experimental-websocket", ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const args = process.argv.slice(2);
const N = Number(args[0] ?? 3000);
const CLIENTS = Number(args[1] ?? 4);
const TOP = Number(args[2] ?? 10);
const WORKLOADS = (args[3] ?? "read,write,anonymous").split(",");
const SESSIONS = 16 * CLIENTS;

const origin = await benchOrigin();
const ORIGIN = origin.url;

/** Starts a worker with an inspector port; returns it, its URL and a CDP session on the
 * isolate named `name`. */
async function start(name, options) {
  const port = await freePort();
  const { mf, url } = await serve({ ...options, name, inspectorPort: port });
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  // Miniflare names a user worker's isolate core:user:<name>; its other isolates (the entry
  // worker, KV, cache) are the same for every target and left out
  const target = list.find((t) => t.id === `core:user:${name}`);
  if (!target) throw new Error(`no inspector target for ${name}: ${JSON.stringify(list.map((t) => t.title))}`);
  const session = await cdp(target.webSocketDebuggerUrl);
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 100 }); // µs
  return { mf, url, session };
}

/** Self time per function of a .cpuprofile, in µs, descending, idle and GC split out. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0; // the delta after a sample is the time it stood for
    const node = byId.get(profile.samples[i]);
    const f = node.callFrame;
    const file = f.url ? path.basename(f.url.split("?")[0]) : "";
    const key = f.url?.startsWith("wasm://") ? `${f.functionName || "wasm-function"} [wasm]` : `${f.functionName || "(anonymous)"} ${file}${file ? ":" + (f.lineNumber + 1) : ""}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  const idle = self.get("(idle) ") ?? 0;
  const busy = total - idle;
  const rows = [...self].filter(([k]) => k !== "(idle) ").sort((a, b) => b[1] - a[1]);
  const wasm = rows.filter(([k]) => k.endsWith("[wasm]")).reduce((s, [, v]) => s + v, 0);
  // wasm self time by crate (the first path segment of the demangled name), and JS by file
  const groups = new Map();
  for (const [k, v] of rows) {
    let g;
    if (k.endsWith("[wasm]")) {
      const name = k.replace(/^<+(&mut |&)?/, "");
      g = "wasm " + (name.match(/^([A-Za-z_][A-Za-z0-9_]*)/)?.[1] ?? "?");
      const engine = name.match(/^edge_sessions::(?:engine::|js::)?([a-z_]+)/);
      if (engine) g = `wasm edge_sessions::${engine[1]}`;
    } else g = "js " + (k.match(/ ([\w.-]+\.m?js):\d+$/)?.[1] ?? k.replace(/ .*$/, ""));
    groups.set(g, (groups.get(g) ?? 0) + v);
  }
  const grouped = [...groups].sort((a, b) => b[1] - a[1]);
  return { rows, grouped, busy, wasm, named: rows.some(([k]) => k.endsWith("[wasm]") && !/^(wasm-function|\$?func)/.test(k)) };
}

const targets = [
  { name: "proxy", cookie: "__Host-session", options: wasmWorker(PROXY_SCRIPT, { ORIGIN }) },
  { name: "peer", cookie: PEER_COOKIE, options: peerOptions(ORIGIN) },
];

const out = [];
for (const t of targets) {
  const s = await start(t.name, t.options);
  const cookies = [];
  for (let i = 0; i < SESSIONS; i++) {
    const r = await get(s.url + "/seed");
    const c = r.setCookie.find((v) => v.startsWith(t.cookie + "="));
    if (!c) throw new Error(`no ${t.cookie} cookie from ${t.name}`);
    cookies.push(c.split(";")[0]);
  }
  const turn = new Array(CLIENTS).fill(0);
  const next = (c) => cookies[c * 16 + (turn[c]++ % 16)];
  for (const w of WORKLOADS) {
    const ask = w === "anonymous" ? () => [`${s.url}/read`] : (c) => [`${s.url}/${w}`, next(c)];
    await round(CLIENTS, 500, ask); // warm-up
    await s.session.send("Profiler.start");
    const { lat } = await round(CLIENTS, N, ask);
    const { profile } = await s.session.send("Profiler.stop");
    if (process.env.PROFILE_JSON) {
      mkdirSync(process.env.PROFILE_JSON, { recursive: true });
      writeFileSync(path.join(process.env.PROFILE_JSON, `${t.name}-${w}.cpuprofile`), JSON.stringify(profile));
    }
    out.push({ target: t.name, workload: w, requests: lat.length, ...selfTimes(profile) });
  }
  s.session.close();
  await s.mf.dispose();
}

const us = (x) => x.toFixed(1).padStart(7);
console.log(`V8 sampling profiles (100 µs interval) of ${N} requests per workload, ${CLIENTS} clients; self time per request, busy = not idle`);
for (const p of out) {
  console.log(`\n${p.target} / ${p.workload}: busy ${us(p.busy / p.requests)} µs/req, of which wasm ${us(p.wasm / p.requests)} µs/req${p.target === "proxy" && !p.named ? " (wasm unnamed: build with PROFILE=1 for names)" : ""}`);
  for (const [k, v] of p.rows.slice(0, TOP)) console.log(`  ${us(v / p.requests)} µs  ${((100 * v) / p.busy).toFixed(1).padStart(5)} %  ${k}`);
  console.log("  by crate or file:");
  for (const [k, v] of p.grouped.slice(0, TOP)) console.log(`  ${us(v / p.requests)} µs  ${((100 * v) / p.busy).toFixed(1).padStart(5)} %  ${k}`);
}
agent.destroy();
origin.close();
