// Starts the real wasm build under workerd through Miniflare's API, with real local KV and a
// SQLite-backed Durable Object, in front of a real origin.
import { Miniflare } from "miniflare";
import { createHash, createHmac } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { captureWorker } from "./capture.mjs";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const SECRET = "test-secret-0123456789abcdef-0123456789";
export const BASE = "https://app.example";

/** Miniflare options for one of our built workers (its .wasm as CompiledWasm) with local KV
 * and a SQLite-backed SessionLock namespace. `scriptPath` is relative to the repository.
 * The benchmarks use it too. */
export function workerOptions(scriptPath, bindings = {}) {
  return {
    rootPath: root,
    scriptPath,
    modules: true,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"], fallthrough: true },
      { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
    ],
    compatibilityDate: "2025-11-01",
    kvNamespaces: ["SESSIONS"],
    durableObjects: { SESSION_LOCKS: { className: "SessionLock", useSQLite: true } },
    // debug: the tests read the object's per-write "kv mirror write" lines
    bindings: { SESSION_SECRET: SECRET, SESSION_LOG_LEVEL: "debug", ...bindings },
  };
}

/** Serves a built worker with fresh (unpersisted) state, keeping its output lines.
 * `extra` (optional) is merged over the Miniflare options (e.g. `durableObjectsPersist: dir`),
 * and `edit(options)` may change them last (e.g. delete a binding). */
export async function startModule(scriptPath, bindings = {}, { extra = {}, edit } = {}) {
  const options = {
    ...workerOptions(scriptPath, bindings),
    kvPersist: false,
    durableObjectsPersist: false,
    ...extra,
    // keep the runtime's output: tests read the object's "kv mirror write" lines
    handleRuntimeStdio(stdout, stderr) {
      const keep = (chunk) => {
        for (const line of chunk.toString().split("\n")) if (line.trim()) output.push(line);
      };
      stdout.on("data", keep);
      stderr.on("data", keep);
    },
  };
  if (edit) edit(options);
  const mf = new Miniflare(options);
  const output = [];
  await mf.ready;
  const kv = options.kvNamespaces?.includes("SESSIONS") ? await mf.getKVNamespace("SESSIONS") : null;
  return captureWorker({
    mf,
    kv,
    output,
    fetch: (p, init = {}) => mf.dispatchFetch(BASE + p, { redirect: "manual", ...init }),
    scheduled: async () => (await mf.getWorker()).scheduled({ cron: "*/5 * * * *" }),
    dispose: () => mf.dispose(),
  }, options); // FUZZ_CAPTURE_DIR only: records inputs for the fuzz corpus
}

/** The proxy worker (js/proxy.js) in front of `originUrl`; `opts` as for startModule. */
export function startWorker(originUrl, vars = {}, opts = {}) {
  return startModule("js/proxy.js", { ORIGIN: originUrl, ...vars }, opts);
}

/** The 12-hex-digit tag the worker logs instead of a session id. */
export const logTag = (id) => createHash("sha256").update(id).digest("hex").slice(0, 12);

/** Times (ms) of the KV mirror writes the object logged for `id`. */
export const mirrorWrites = (output, id) =>
  output
    .map((l) => l.match(/kv mirror write ([0-9a-f]{12}) at (\d+)/))
    .filter((m) => m && m[1] === logTag(id))
    .map((m) => Number(m[2]));

/** Signs an id the way the worker does, to build validly signed but unknown ids. */
export function sign(id, secret = SECRET) {
  const tag = createHmac("sha256", secret).update("edge-sessions/v1/id:" + id).digest("base64url");
  return `${id}.${tag}`;
}

export function sessionCookie(res, name = "__Host-session") {
  const all = res.headers.getSetCookie();
  const mine = all.filter((c) => c.startsWith(name + "="));
  if (mine.length > 1) throw new Error("more than one session Set-Cookie: " + all.join(" | "));
  if (!mine.length) return null;
  const c = mine[0];
  return { raw: c, value: c.slice(name.length + 1).split(";")[0], all };
}

export const idOf = (value) => value.split(".")[0];

export async function kvSessionKeys(kv) {
  const out = [];
  let cursor;
  do {
    const page = await kv.list({ prefix: "session:", cursor });
    out.push(...page.keys);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls until fn() is truthy and returns that value (for the KV mirror, written by an alarm);
 * throws an Error naming `what` if the time runs out first. */
export async function eventually(fn, ms = 5000, what = "condition") {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() >= end) break;
    await sleep(50);
  }
  throw new Error(`eventually: ${what} not met within ${ms} ms (last value: ${String(last)})`);
}

// ---- workerd processes, from /proc (Linux only) ----

/** Every process as pid -> { ppid, comm, ticks } (ticks = utime + stime). */
export function processTable() {
  const table = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let s;
    try {
      s = readFileSync(`/proc/${d}/stat`, "utf8");
    } catch {
      continue; // exited since the listing
    }
    // comm may hold spaces and parentheses: the fields after it start past the last ")"
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    if (f[0] === "Z") continue; // a zombie is dead, only not yet reaped
    table.set(Number(d), { comm: s.slice(s.indexOf("(") + 1, s.lastIndexOf(")")), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
  }
  return table;
}

/** `pids` and all their descendants in `table`. */
export function withDescendants(table, pids) {
  const out = new Set(pids);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of table) if (out.has(p.ppid) && !out.has(pid)) out.add(pid), (grew = true);
  }
  return [...out];
}

/** The live workerd processes under this node process (Miniflare starts one per instance). */
export function workerdPids() {
  const table = processTable();
  return withDescendants(table, [process.pid]).filter((pid) => table.get(pid)?.comm === "workerd");
}
