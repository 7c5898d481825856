// Fault injection for the end-to-end tests: runs the real proxy worker (js/proxy.js + the
// engine's wasm, unchanged) on workerd behind a small JS shim worker that hands the proxy a
// wrapped `env`, in which the KV namespace `SESSIONS` and the Durable Object namespace `SESSION_LOCKS`
// can be made to fail on chosen calls. The SessionLock objects stay the real ones (the shim's
// SessionLock class only subclasses the real class to give it the wrapped `env` too, so the
// object's own KV mirror writes see the KV faults).
//
// Faults live in the shim's module state, shared by the worker and its Durable Objects (one
// isolate); the test switches them at runtime through a control route of the shim
// (`/__faults/...`, answered before the Rust worker sees the request).
//
//   const w = await startFaultyWorker(origin.url);
//   await w.faults.set({ kv: { put: { error: "429", forMs: 2000 } } });
//   await w.faults.set({ do: { fetch: { when: "after", path: "/apply", retryable: true, times: 1 } } });
//   (await w.faults.counts()).do.fetch  // { calls, billed, injected, before, after, paths }
//   await w.faults.clear();
//   await w.faults.resetObject(sessionId); // the session's SessionLock object is reset (below)
//
// A rule (one per operation): all fields optional.
//   error     KV only: "throw" (default: an Error "injected fault: KV <OP> failed") or "429"
//             (an Error "KV <OP> failed: 429 Too Many Requests", as KV reports its rate limit)
//   when      DO calls only: "before" (default: thrown without calling the object, which never
//             sees the call) or "after" (the object answered in full, then the answer is
//             dropped and the error thrown)
//   retryable, overloaded   DO fetch only: set err.retryable / err.overloaded = true
//   message   the thrown Error's message (a default per kind otherwise)
//   key       KV only: only calls whose key (list: prefix option) starts with this string
//   path      DO calls only: only calls of this operation, named as a path ("/apply",
//             "/begin", "/release", "/sweep": one RPC method of SessionLock each)
//   nth       fail only the nth matching call (1-based, counted from set())
//   skip      let this many matching calls through first
//   times     fail at most this many calls
//   forMs     fail only during this many ms after set()
//   delayMs   wait this long before failing (or, for "after", before dropping the answer)
//
// Object reset: faults.resetObject(sessionId) resets that session's real SessionLock object
// the way Cloudflare resets or evicts one: its in-memory state (the lock, its leases and
// waiters, caches) is lost, its storage (record, alarm) is kept, and the next request gets a
// fresh instance. The control route reaches the object through the real namespace binding
// (getByName(sessionId), as the Rust code names objects; not counted in counts()) with a
// request for RESET_PATH, which the shim's SessionLock subclass answers by calling
// state.abort("reset by test") (workerd: the object is broken and discarded, in-flight calls
// to it fail, storage stays). The reset request itself fails with that error; resetObject
// resolves to { aborted: <its message>, incarnations: <instances of that object constructed
// so far> } and throws if the object did not abort.
//
// Billing counts (tests/e2e/cost.test.mjs reads them; no fault needed): besides the binding
// calls above, counts() tallies what Cloudflare bills per operation.
//   worker.fetch, worker.scheduled   Worker invocations (the /__faults/ control route is not
//             counted)
//   do.fetch.calls   top-level RPC calls on a namespace stub: each is one RPC session, one
//             billed Durable Object request (calls on a stub that an RPC call returns would
//             not be; the proxy makes none)
//   do.alarms        alarm() runs of SessionLock objects (each a billed Durable Object request)
//   do.storage       the objects' storage calls, through a wrapper of `ctx.storage` that the
//             shim's SessionLock subclass hands the real class: get, list, getAlarm, put,
//             delete, deleteAll, setAlarm, deleteAlarm (calls), plus rowsRead and rowsWritten
//             as SQLite-backed objects are billed: get/put/delete one row per key (multi-key
//             forms one per key), list one row read per entry returned, setAlarm one row
//             written (Cloudflare's pricing footnote), deleteAlarm one row written (assumed
//             like setAlarm), deleteAll one row written per key it removed (the shim lists
//             the keys first; that list is not counted), getAlarm no rows. (The synchronous
//             ctx.storage.kv and ctx.storage.sql APIs are not counted: the real class uses
//             neither.)
//   do.objects       the same per object, keyed by the object id's hex: { name (the
//             getByName name, once a stub was made for it), rpc: { "/begin": n, ... },
//             alarms, storage: { ...as do.storage } }
// Two live fields are state, not counters, so reset() leaves them alone: do.inFlight (RPC
// calls and alarms running now) and do.pendingAlarms ({ <object hex>: Unix ms } for every
// alarm set and neither run nor deleted yet). With them a test can tell when the objects'
// deferred work (the alarm's KV mirror write, the release a read sends through waitUntil) is
// done. An alarm the runtime retries after a failure is not tracked as pending.
import { Miniflare } from "miniflare";
import { workerOptions, BASE } from "./harness.mjs";
import { captureWorker } from "./capture.mjs";

/** The KV methods a worker or object may call on the binding. */
export const KV_OPS = ["get", "getWithMetadata", "put", "list", "delete"];

/** SessionLock's RPC methods (src/engine/wire.rs, Op). */
const DO_OPS = ["begin", "apply", "release", "sweep", "kill", "userAdd", "userRemove", "userList", "userDestroy"];

// The shim worker, in the same module graph as js/proxy.js (imported by its real path).
const SHIM_PATH = "tests/e2e/__faulty_worker.mjs";
const SHIM = String.raw`
import Real, { SessionLock as RealSessionLock } from "../../js/proxy.js";
const DO_OPS = ${JSON.stringify(DO_OPS)};

const KV_OPS = ${JSON.stringify(KV_OPS)};
const STORAGE_OPS = ["get", "list", "getAlarm", "put", "delete", "deleteAll", "setAlarm", "deleteAlarm"];
let rules = {};      // "kv.put" | "do.fetch" -> rule
let state = {};      // same keys -> { matched, injected, since }
let counts = fresh();
let events = [];
const incarnations = {}; // SessionLock id (hex) -> instances constructed (never reset)
const RESET_PATH = "/__faults-reset";
const rawEnvOf = new WeakMap(); // wrapped env -> the real env
const objectNames = {}; // SessionLock id (hex) -> the name a stub was made for (never reset)
let inFlight = 0; // RPC calls and alarms running now (state: never reset)
const pendingAlarms = {}; // SessionLock id (hex) -> Unix ms of its alarm (state: never reset)

function fresh() {
  const c = {
    kv: {},
    do: { fetch: { calls: 0, billed: 0, injected: 0, before: 0, after: 0, paths: {} }, alarms: 0, storage: freshStorage(), objects: {} },
    worker: { fetch: 0, scheduled: 0 },
  };
  for (const op of KV_OPS) c.kv[op] = { calls: 0, injected: 0 };
  return c;
}

function freshStorage() {
  const s = { rowsRead: 0, rowsWritten: 0 };
  for (const op of STORAGE_OPS) s[op] = 0;
  return s;
}

/** The counters of one object (created on first use, also after a reset()). */
function objectCounts(key) {
  let o = counts.do.objects[key];
  if (!o) o = counts.do.objects[key] = { name: null, rpc: {}, alarms: 0, storage: freshStorage() };
  o.name ??= objectNames[key] ?? null;
  return o;
}

/** What counts() answers: the counters plus the live state. */
function snapshot() {
  return { ...counts, do: { ...counts.do, inFlight, pendingAlarms: { ...pendingAlarms } } };
}

function setRules(spec) {
  rules = {};
  state = {};
  const now = Date.now();
  for (const [op, rule] of Object.entries(spec.kv ?? {})) {
    if (rule) rules["kv." + op] = rule;
  }
  if (spec.do?.fetch) rules["do.fetch"] = spec.do.fetch;
  for (const k of Object.keys(rules)) state[k] = { matched: 0, injected: 0, since: now };
}

/** The rule for this call if it is to fail now, else null. */
function decide(name, subject) {
  const rule = rules[name];
  if (!rule) return null;
  if (rule.key !== undefined && !String(subject ?? "").startsWith(rule.key)) return null;
  if (rule.path !== undefined && subject !== rule.path) return null;
  const s = state[name];
  if (rule.forMs !== undefined && Date.now() - s.since >= rule.forMs) return null;
  s.matched++;
  if (rule.skip !== undefined && s.matched <= rule.skip) return null;
  if (rule.nth !== undefined && s.matched !== rule.nth) return null;
  if (rule.times !== undefined && s.injected >= rule.times) return null;
  s.injected++;
  return rule;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function kvError(op, rule) {
  const OP = op === "getWithMetadata" ? "GET" : op.toUpperCase();
  const msg = rule.message ?? (rule.error === "429"
    ? "KV " + OP + " failed: 429 Too Many Requests"
    : "injected fault: KV " + OP + " failed");
  return new Error(msg);
}

function doError(rule) {
  const msg = rule.message ?? (rule.overloaded
    ? "injected fault: Durable Object is overloaded. Too many requests queued."
    : rule.retryable
      ? "injected fault: Network connection lost."
      : "injected fault: Durable Object fetch failed");
  const err = new Error(msg);
  if (rule.retryable) err.retryable = true;
  if (rule.overloaded) err.overloaded = true;
  return err;
}

function kvSubject(op, args) {
  if (op === "list") return args[0]?.prefix ?? "";
  return args[0];
}

class KvNamespace {
  constructor(inner) { this.inner = inner; }
}
for (const op of KV_OPS) {
  KvNamespace.prototype[op] = async function (...args) {
    counts.kv[op].calls++;
    const subject = kvSubject(op, args);
    const rule = decide("kv." + op, subject);
    if (!rule) return this.inner[op](...args);
    counts.kv[op].injected++;
    events.push({ op: "kv." + op, subject: String(subject), error: rule.error ?? "throw", at: Date.now() });
    if (rule.delayMs) await sleep(rule.delayMs);
    throw kvError(op, rule);
  };
}

function pathOf(input) {
  try {
    return new URL(typeof input === "string" ? input : input.url).pathname;
  } catch {
    return "";
  }
}

class DurableObjectStub {
  constructor(inner) {
    this.inner = inner;
    this.id = inner.id;
    this.name = inner.name;
  }
  fetch(input, init) {
    return this.inner.fetch(input, init);
  }
  /** One RPC call of SessionLock (one RPC session: one billed request), counted (and
   * failed) under the path "/<op>". */
  /** A top-level RPC call: a new RPC session, one billed Durable Object request. */
  rpc(op, args) {
    return rpcCall(this.id.toString(), op, () => this.inner[op](...args), true);
  }
  connect(...args) { return this.inner.connect(...args); }
}
for (const op of DO_OPS) {
  DurableObjectStub.prototype[op] = function (...args) {
    return this.rpc(op, args);
  };
}

/**
 * One call of SessionLock's RPC, counted and failed per the rules under the path "/<op>":
 * top-level calls on a stub (billed) and calls on a lease's stub (the same RPC session as its
 * begin, not billed again) alike. A granted begin's lease stub is wrapped the same way; when
 * a fault drops a begin's answer, its lease stub is disposed, as a broken RPC session would.
 */
async function rpcCall(key, op, invoke, billed) {
  const c = counts.do.fetch;
  c.calls++;
  if (billed) c.billed++;
  const path = "/" + op;
  c.paths[path] = (c.paths[path] ?? 0) + 1;
  const o = objectCounts(key).rpc;
  o[path] = (o[path] ?? 0) + 1;
  inFlight++;
  try {
    const rule = decide("do.fetch", path);
    if (!rule) return wrapAnswer(key, op, await invoke());
    const when = rule.when ?? "before";
    if (when === "after") {
      const answer = await invoke(); // the object has answered in full: its work is done
      answer?.lease?.[Symbol.dispose]?.();
    }
    if (rule.delayMs) await sleep(rule.delayMs);
    c.injected++;
    c[when]++;
    events.push({ op: "do.fetch", subject: path, when, retryable: !!rule.retryable, overloaded: !!rule.overloaded, at: Date.now() });
    throw doError(rule);
  } finally {
    inFlight--;
  }
}

function wrapAnswer(key, op, answer) {
  if (op !== "begin" || !answer?.lease) return answer;
  const lease = answer.lease;
  return {
    reply: answer.reply,
    lease: {
      apply: (body) => rpcCall(key, "apply", () => lease.apply(body), false),
      release: (body) => rpcCall(key, "release", () => lease.release(body), false),
      [Symbol.dispose]: () => lease[Symbol.dispose](),
    },
  };
}

class DurableObjectNamespace {
  constructor(inner) { this.inner = inner; }
  idFromName(...a) { return this.inner.idFromName(...a); }
  idFromString(...a) { return this.inner.idFromString(...a); }
  newUniqueId(...a) { return this.inner.newUniqueId(...a); }
  get(...a) { return new DurableObjectStub(this.inner.get(...a)); }
  getByName(name, ...a) {
    objectNames[this.inner.idFromName(name).toString()] = name;
    return new DurableObjectStub(this.inner.getByName(name, ...a));
  }
  jurisdiction(...a) { return new DurableObjectNamespace(this.inner.jurisdiction(...a)); }
}

const wrapped = new WeakMap();
function faultyEnv(env) {
  let w = wrapped.get(env);
  if (!w) {
    w = { ...env };
    if (env.SESSIONS) w.SESSIONS = new KvNamespace(env.SESSIONS);
    if (env.SESSION_LOCKS) w.SESSION_LOCKS = new DurableObjectNamespace(env.SESSION_LOCKS);
    wrapped.set(env, w);
    rawEnvOf.set(w, env);
  }
  return w;
}

/** How many rows (keys) a storage call names: the multi-key forms take an array of keys
 * (get, delete) or an object of entries (put). */
function keysNamed(op, args) {
  if (Array.isArray(args[0])) return args[0].length;
  if (op === "put" && args[0] !== null && typeof args[0] === "object") return Object.keys(args[0]).length;
  return 1;
}

/** Counts one storage call of object "key" (see faults.mjs: Billing counts). */
function tallyStorage(key, op, rowsRead, rowsWritten) {
  for (const s of [counts.do.storage, objectCounts(key).storage]) {
    s[op]++;
    s.rowsRead += rowsRead;
    s.rowsWritten += rowsWritten;
  }
}

/** "storage" with its calls counted (and alarms tracked) for object "key"; everything else
 * is the real storage's, bound to it (jsg methods refuse any other "this"). */
function countedStorage(storage, key) {
  const wrap = {
    get: (f) => (...a) => {
      tallyStorage(key, "get", keysNamed("get", a), 0);
      return f(...a);
    },
    list: (f) => async (...a) => {
      const v = await f(...a);
      tallyStorage(key, "list", v.size, 0);
      return v;
    },
    getAlarm: (f) => (...a) => {
      tallyStorage(key, "getAlarm", 0, 0);
      return f(...a);
    },
    put: (f) => (...a) => {
      tallyStorage(key, "put", 0, keysNamed("put", a));
      return f(...a);
    },
    delete: (f) => (...a) => {
      tallyStorage(key, "delete", 0, keysNamed("delete", a));
      return f(...a);
    },
    deleteAll: (f) => async (...a) => {
      const removed = (await storage.list()).size; // the rows deleteAll writes (not counted)
      tallyStorage(key, "deleteAll", 0, removed);
      return f(...a);
    },
    setAlarm: (f) => (at, ...a) => {
      tallyStorage(key, "setAlarm", 0, 1);
      pendingAlarms[key] = typeof at === "number" ? at : new Date(at).getTime();
      return f(at, ...a);
    },
    deleteAlarm: (f) => (...a) => {
      tallyStorage(key, "deleteAlarm", 0, 1);
      delete pendingAlarms[key];
      return f(...a);
    },
  };
  return new Proxy(storage, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      const bound = v.bind(target);
      return Object.hasOwn(wrap, prop) ? wrap[prop](bound) : bound;
    },
  });
}

/** The object's state (ctx) with "storage" counted; the rest is the real state's. An object
 * inheriting from the real state, not a Proxy: the DurableObject base class (and the state's
 * own methods) accept anything with the real state in its prototype chain, not a Proxy. */
function countedState(state) {
  const storage = countedStorage(state.storage, state.id.toString());
  return Object.create(state, { storage: { value: storage, enumerable: true } });
}

/** Resets the real SessionLock object named sid (see faults.mjs: Object reset). */
async function resetObject(env, sid) {
  const ns = env.SESSION_LOCKS;
  try {
    const res = await ns.getByName(sid).fetch("https://session-lock" + RESET_PATH, { method: "POST" });
    return new Response("the object did not abort: " + res.status + " " + (await res.text()), { status: 500 });
  } catch (err) {
    const aborted = String(err?.message ?? err);
    if (!aborted.includes("reset by test")) return new Response("reset failed: " + aborted, { status: 500 });
    const key = ns.idFromName(sid).toString();
    return Response.json({ aborted, incarnations: incarnations[key] ?? 0 });
  }
}

async function control(request, env) {
  const what = new URL(request.url).pathname.slice("/__faults/".length);
  if (what === "reset-object") return resetObject(env, (await request.json()).id);
  if (what === "set") setRules(await request.json());
  else if (what === "clear") setRules({});
  else if (what === "reset") { setRules({}); counts = fresh(); events = []; }
  else if (what !== "counts" && what !== "events") return new Response("unknown control " + what, { status: 404 });
  if (what === "events") return Response.json(events);
  return Response.json(snapshot());
}

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname.startsWith("/__faults/")) return control(request, env);
    counts.worker.fetch++;
    return Real.fetch(request, faultyEnv(env), ctx);
  },
  scheduled(controller, env, ctx) {
    counts.worker.scheduled++;
    return Real.scheduled(controller, faultyEnv(env), ctx);
  },
};

export class SessionLock extends RealSessionLock {
  constructor(state, env) {
    // The real class keeps what it is given as this.ctx (the DurableObject base class stores
    // it as is) and reads this.ctx.storage: a counted state makes every storage call visible.
    super(countedState(state), faultyEnv(env));
    this.faultsState = state;
    this.faultsKey = state.id.toString();
    incarnations[this.faultsKey] = (incarnations[this.faultsKey] ?? 0) + 1;
  }
  fetch(request) {
    if (pathOf(request) === RESET_PATH) this.faultsState.abort("reset by test"); // throws
    return super.fetch(request);
  }
  /** Each alarm run is a billed request; it is no longer pending once it starts (the object
   * may set a new one while it runs). */
  async alarm(...args) {
    counts.do.alarms++;
    objectCounts(this.faultsKey).alarms++;
    delete pendingAlarms[this.faultsKey];
    inFlight++;
    try {
      return await super.alarm(...args);
    } finally {
      inFlight--;
    }
  }
}
`;

/** Miniflare options running js/proxy.js behind the fault shim (else as harness
 * workerOptions). */
export function faultyWorkerOptions(bindings = {}) {
  const options = workerOptions("js/proxy.js", bindings);
  delete options.scriptPath;
  options.modules = [
    { type: "ESModule", path: SHIM_PATH, contents: SHIM },
    ...["js/proxy.js", "js/lock.js", "js/engine.js", "js/dist/engine.js"].map((path) => ({ type: "ESModule", path })),
    { type: "CompiledWasm", path: "js/dist/engine.wasm" },
  ];
  delete options.modulesRules;
  return options;
}

const RULE_KEYS = new Set([
  "error", "when", "retryable", "overloaded", "message", "key", "path", "nth", "skip", "times", "forMs", "delayMs",
]);

function checkSpec(spec) {
  for (const k of Object.keys(spec)) if (k !== "kv" && k !== "do") throw new Error(`faults.set: unknown section ${k}`);
  for (const [op, rule] of Object.entries(spec.kv ?? {})) {
    if (!KV_OPS.includes(op)) throw new Error(`faults.set: unknown KV operation ${op}`);
    if (rule && typeof rule !== "object") throw new Error(`faults.set: kv.${op} must be a rule object`);
    if (rule?.error !== undefined && rule.error !== "throw" && rule.error !== "429")
      throw new Error(`faults.set: kv.${op}.error must be "throw" or "429"`);
  }
  for (const op of Object.keys(spec.do ?? {})) if (op !== "fetch") throw new Error(`faults.set: unknown DO operation ${op}`);
  const f = spec.do?.fetch;
  if (f?.when !== undefined && f.when !== "before" && f.when !== "after")
    throw new Error(`faults.set: do.fetch.when must be "before" or "after"`);
  for (const rule of [...Object.values(spec.kv ?? {}), f])
    for (const k of Object.keys(rule ?? {})) if (!RULE_KEYS.has(k)) throw new Error(`faults.set: unknown rule field ${k}`);
}

/** Like harness `startWorker(originUrl, vars)` (same fields: fetch, kv, output, scheduled,
 * dispose, mf), with the worker behind the fault shim, plus `faults`:
 *   set(spec)  replace all faults by `spec` ({ kv: { put|get|getWithMetadata|list|delete: rule },
 *              do: { fetch: rule } }); each rule's nth/skip/times/forMs count from here
 *   clear()    no faults (counters kept)
 *   reset()    no faults, counters and events zeroed (the live do.inFlight and do.pendingAlarms kept)
 *   counts()   { kv: { <op>: { calls, injected } },
 *                do: { fetch: { calls, billed, injected, before, after, paths: { "/begin": calls, ... } },
 *                (calls: every SessionLock RPC call; billed: those opening an RPC session, that is
 *                not made on a lease's stub)
 *                      alarms, storage, objects, inFlight, pendingAlarms },
 *                worker: { fetch, scheduled } }
 *              (calls = every call the worker or an object made through the binding; the
 *              fields after do.fetch are described under Billing counts above)
 *   events()   the injected faults in order: { op, subject (key/prefix or path), ..., at }
 *   resetObject(sessionId)  resets that session's SessionLock object (see Object reset above):
 *              { aborted, incarnations }
 * All return promises. `extra`/`edit` as for harness startModule. */
export async function startFaultyWorker(originUrl, vars = {}, { extra = {}, edit } = {}) {
  const output = [];
  const options = {
    ...faultyWorkerOptions({ ORIGIN: originUrl, ...vars }),
    kvPersist: false,
    durableObjectsPersist: false,
    ...extra,
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
  await mf.ready;
  const kv = await mf.getKVNamespace("SESSIONS");
  const call = async (what, body) => {
    const res = await mf.dispatchFetch(`${BASE}/__faults/${what}`, {
      method: body === undefined ? "GET" : "POST",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`faults.${what}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const faults = {
    set: async (spec) => {
      checkSpec(spec);
      return call("set", spec);
    },
    clear: () => call("clear", {}),
    reset: () => call("reset", {}),
    counts: () => call("counts"),
    events: () => call("events"),
    resetObject: (sessionId) => call("reset-object", { id: sessionId }),
  };
  return captureWorker({
    mf,
    kv,
    output,
    faults,
    fetch: (p, init = {}) => mf.dispatchFetch(BASE + p, { redirect: "manual", ...init }),
    scheduled: async () => (await mf.getWorker()).scheduled({ cron: "*/5 * * * *" }),
    dispose: () => mf.dispose(),
  }, options); // FUZZ_CAPTURE_DIR only: records inputs for the fuzz corpus
}
