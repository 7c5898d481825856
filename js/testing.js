// edge-sessions/testing: runs the real package (the wasm engine and the real SessionLock
// Durable Object class) in Node 20.6+ without workerd, against in-memory fakes of the platform
// bindings: a Map-backed KV namespace for SESSIONS and a Durable Object namespace for
// SESSION_LOCKS whose stubs call one in-process SessionLock per name.
//
// Node cannot import "cloudflare:workers" or a .wasm file as a WebAssembly.Module, so this
// module registers module customization hooks (node:module register) when it is imported:
// "cloudflare:workers" resolves to minimal base classes, and the package's index.wasm loads as
// `export default new WebAssembly.Module(bytes)`. The package itself is imported dynamically,
// after the hooks are in place. Code that imports "edge-sessions" statically (your worker
// module) must therefore be imported after this module has run: either dynamically after
// `await createTestSessions()` / `await loadSessions()`, or by preloading this module with
// `node --import edge-sessions/testing --test`.
import { register } from "node:module";

const WORKERS_STUB = `
export class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }
export class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }
export class WorkflowEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }
export class RpcTarget {}
export const env = {};
export default {};
`;

const WASM_URL = new URL("./dist/engine.wasm", import.meta.url).href;

// The hooks run on Node's loader thread; they only touch "cloudflare:workers" and this
// package's own wasm file, and pass everything else on.
const HOOKS = `
const stub = ${JSON.stringify("data:text/javascript," + encodeURIComponent(WORKERS_STUB))};
let wasm = new Set();
export function initialize(data) { wasm = new Set(data.wasm); }
export async function resolve(specifier, context, next) {
  if (specifier === "cloudflare:workers") return { url: stub, format: "module", shortCircuit: true };
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (wasm.has(url)) {
    return {
      format: "module",
      shortCircuit: true,
      source: "import { readFileSync } from 'node:fs';\\n" +
        "export default new WebAssembly.Module(readFileSync(new URL(" + JSON.stringify(url) + ")));\\n",
    };
  }
  return next(url, context);
}
`;

register("data:text/javascript," + encodeURIComponent(HOOKS), { data: { wasm: [WASM_URL] } });

let pkg;
/** The real package module (`Sessions`, `Session`, `SessionLock`, `errorResponse`), loaded once. */
export function loadSessions() {
  pkg ??= import("./index.js");
  return pkg;
}

// ---------------------------------------------------------------------------------------------
// KV namespace

const nowSeconds = () => Date.now() / 1000;

/** A Map-backed KV namespace with the methods and argument shapes the package uses. */
export class MemoryKV {
  #entries = new Map(); // key -> { value: string | Uint8Array, expiration?: number, metadata?: unknown }

  #live(key) {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    if (e.expiration !== undefined && e.expiration <= nowSeconds()) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  static #decode(e, type) {
    const text = typeof e.value === "string" ? e.value : new TextDecoder().decode(e.value);
    switch (type ?? "text") {
      case "text":
        return text;
      case "json":
        return JSON.parse(text);
      case "arrayBuffer": {
        const bytes = typeof e.value === "string" ? new TextEncoder().encode(e.value) : e.value.slice();
        return bytes.buffer;
      }
      case "stream":
        return new Response(text).body;
      default:
        throw new TypeError(`KV get: unknown type ${type}`);
    }
  }

  async get(key, options) {
    if (Array.isArray(key)) {
      const out = new Map();
      for (const k of key) out.set(k, await this.get(k, options));
      return out;
    }
    const type = typeof options === "string" ? options : options?.type;
    const e = this.#live(String(key));
    return e ? MemoryKV.#decode(e, type) : null;
  }

  async getWithMetadata(key, options) {
    const type = typeof options === "string" ? options : options?.type;
    const e = this.#live(String(key));
    return e
      ? { value: MemoryKV.#decode(e, type), metadata: e.metadata ?? null, cacheStatus: null }
      : { value: null, metadata: null, cacheStatus: null };
  }

  async put(key, value, options = {}) {
    key = String(key);
    if (key === "" || key === "." || key === "..") throw new TypeError(`KV put: invalid key ${JSON.stringify(key)}`);
    let stored;
    if (typeof value === "string") stored = value;
    else if (value instanceof ArrayBuffer) stored = new Uint8Array(value.slice(0));
    else if (ArrayBuffer.isView(value)) stored = new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
    else if (value instanceof ReadableStream) stored = new Uint8Array(await new Response(value).arrayBuffer());
    else throw new TypeError("KV put: value must be a string, ArrayBuffer, ArrayBufferView or ReadableStream");
    // whole seconds, read once, as the real service counts
    const now = Math.floor(nowSeconds());
    let expiration;
    if (options.expiration !== undefined) expiration = Number(options.expiration);
    else if (options.expirationTtl !== undefined) expiration = now + Number(options.expirationTtl);
    if (expiration !== undefined && !(expiration >= now + 60)) {
      // the same rule as the real service: expirations must be at least 60 seconds ahead
      throw new Error(`KV put() failed: 400 Invalid expiration of ${expiration}. Expiration times must be at least 60 seconds in the future.`);
    }
    let metadata;
    if (options.metadata !== undefined && options.metadata !== null) {
      const json = JSON.stringify(options.metadata);
      if (new TextEncoder().encode(json).length > 1024) throw new Error("KV put() failed: metadata exceeds 1024 bytes");
      metadata = JSON.parse(json);
    }
    this.#entries.set(key, { value: stored, expiration: expiration === undefined ? undefined : Math.floor(expiration), metadata });
  }

  async delete(key) {
    this.#entries.delete(String(key));
  }

  async list(options = {}) {
    const prefix = options.prefix ?? "";
    const limit = Math.min(Math.max(Number(options.limit ?? 1000), 1), 1000);
    const after = options.cursor ? Buffer.from(String(options.cursor), "base64url").toString() : null;
    const names = [...this.#entries.keys()]
      .filter((k) => k.startsWith(prefix) && (after === null || k > after) && this.#live(k))
      .sort();
    const page = names.slice(0, limit);
    const keys = page.map((name) => {
      const e = this.#entries.get(name);
      const key = { name };
      if (e.expiration !== undefined) key.expiration = e.expiration;
      if (e.metadata !== undefined) key.metadata = structuredClone(e.metadata);
      return key;
    });
    if (names.length > limit) {
      return { keys, list_complete: false, cursor: Buffer.from(page.at(-1)).toString("base64url"), cacheStatus: null };
    }
    return { keys, list_complete: true, cacheStatus: null };
  }

  /** Test helper (not part of KVNamespace): the live entries as text, by key. */
  dump() {
    const out = {};
    for (const k of [...this.#entries.keys()].sort()) {
      const e = this.#live(k);
      if (e) out[k] = MemoryKV.#decode(e, "text");
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Durable Objects

/** Map-backed Durable Object storage (values kept as structured clones, as the runtime does). */
class MemoryStorage {
  #data = new Map();
  #alarm = null;
  #onAlarmChange;
  constructor(onAlarmChange) {
    this.#onAlarmChange = onAlarmChange;
  }
  async get(key) {
    if (Array.isArray(key)) {
      const out = new Map();
      for (const k of key) if (this.#data.has(k)) out.set(k, structuredClone(this.#data.get(k)));
      return out;
    }
    return this.#data.has(key) ? structuredClone(this.#data.get(key)) : undefined;
  }
  async put(key, value) {
    if (typeof key === "object" && key !== null) {
      for (const [k, v] of Object.entries(key)) this.#data.set(k, structuredClone(v));
      return;
    }
    if (value === undefined) throw new TypeError("Durable Object storage put: value is undefined");
    this.#data.set(key, structuredClone(value));
  }
  async delete(key) {
    if (Array.isArray(key)) {
      let n = 0;
      for (const k of key) if (this.#data.delete(k)) n++;
      return n;
    }
    return this.#data.delete(key);
  }
  async deleteAll() {
    this.#data.clear();
  }
  async list(options = {}) {
    let keys = [...this.#data.keys()].filter((k) => k.startsWith(options.prefix ?? "")).sort();
    if (options.start !== undefined) keys = keys.filter((k) => k >= options.start);
    if (options.end !== undefined) keys = keys.filter((k) => k < options.end);
    if (options.reverse) keys.reverse();
    if (options.limit !== undefined) keys = keys.slice(0, options.limit);
    return new Map(keys.map((k) => [k, structuredClone(this.#data.get(k))]));
  }
  async getAlarm() {
    return this.#alarm;
  }
  async setAlarm(time) {
    this.#alarm = time instanceof Date ? time.getTime() : Number(time);
    this.#onAlarmChange(this.#alarm);
  }
  async deleteAlarm() {
    this.#alarm = null;
    this.#onAlarmChange(null);
  }
  async sync() {}
  /** @internal the alarm fired: it is no longer set. */
  _fired() {
    this.#alarm = null;
  }
}

/** One Durable Object instance: the class constructed as the runtime would, with its state. */
class ObjectInstance {
  #timer = null;
  constructor(Class, env, id, onError) {
    this.waits = new Set();
    this.storage = new MemoryStorage((at) => this.#schedule(at));
    this.onError = onError;
    const state = {
      id,
      storage: this.storage,
      waitUntil: (p) => {
        const w = Promise.resolve(p).catch(onError);
        this.waits.add(w);
        w.finally(() => this.waits.delete(w));
      },
      blockConcurrencyWhile: (fn) => fn(),
      acceptWebSocket() {
        throw new Error("edge-sessions/testing: WebSockets are not supported by the fake Durable Object");
      },
      getWebSockets: () => [],
    };
    this.object = new Class(state, env);
  }
  #schedule(at) {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (at === null) return;
    this.#timer = setTimeout(() => this.fireAlarm(), Math.max(0, at - Date.now()));
    this.#timer.unref?.();
  }
  /** Runs the alarm now (as the runtime does when it is due). */
  async fireAlarm() {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.storage._fired();
    try {
      await this.object.alarm?.();
    } catch (err) {
      this.onError(err);
    }
  }
}

/** A Durable Object id: the same one for the same name. */
class ObjectId {
  #hex;
  constructor(hex, name) {
    this.#hex = hex;
    if (name !== undefined) this.name = name;
  }
  toString() {
    return this.#hex;
  }
  equals(other) {
    return other instanceof ObjectId && other.toString() === this.#hex;
  }
}

/**
 * A Durable Object namespace whose stubs reach one in-process instance of `Class` per id. The
 * class is named DurableObjectNamespace, as the runtime names it.
 */
class DurableObjectNamespace {
  #Class;
  #env;
  #instances = new Map(); // id string -> ObjectInstance
  #names = new Map(); // id string -> ObjectId
  #errors;
  constructor(Class, env, errors = []) {
    this.#Class = Class;
    this.#env = env;
    this.#errors = errors;
  }
  idFromName(name) {
    // a synchronous, stable id: hex of the name (the real one is a hash; any 1:1 map works here)
    const hex = Buffer.from(String(name)).toString("hex").padEnd(64, "0");
    return this.#names.get(hex) ?? (this.#names.set(hex, new ObjectId(hex, String(name))), this.#names.get(hex));
  }
  idFromString(hex) {
    return this.#names.get(hex) ?? new ObjectId(hex);
  }
  newUniqueId() {
    const id = new ObjectId(crypto.randomUUID().replaceAll("-", "").padEnd(64, "0"));
    this.#names.set(id.toString(), id);
    return id;
  }
  getByName(name) {
    return this.get(this.idFromName(name));
  }
  get(id) {
    const ns = this;
    const stub = {
      id,
      name: id.name,
      fetch(input, init) {
        const request = input instanceof Request && init === undefined ? input : new Request(input, init);
        return ns.#instance(id).object.fetch(request);
      },
    };
    // Any other property is an RPC method of the object: arguments are copied, as the
    // runtime serializes them, and the call runs on the one instance of that name.
    return new Proxy(stub, {
      get(target, prop) {
        if (prop in target) return target[prop];
        if (typeof prop !== "string" || prop === "then") return undefined;
        return async (...args) => {
          const object = ns.#instance(id).object;
          if (typeof object[prop] !== "function") throw new TypeError(`the Durable Object has no RPC method ${prop}`);
          return object[prop](...structuredClone(args));
        };
      },
    });
  }
  #instance(id) {
    const key = id.toString();
    let inst = this.#instances.get(key);
    if (!inst) {
      inst = new ObjectInstance(this.#Class, this.#env, id, (err) => this.#errors.push(err));
      this.#instances.set(key, inst);
    }
    return inst;
  }
  /** Test helper: the in-process instances, by name. */
  get instances() {
    return new Map([...this.#instances].map(([k, v]) => [this.#names.get(k)?.name ?? k, v]));
  }
  /** Test helper: runs every set alarm now; resolves when they finished. */
  async runAlarms() {
    const due = [];
    for (const inst of this.#instances.values()) {
      if ((await inst.storage.getAlarm()) !== null) due.push(inst.fireAlarm());
    }
    await Promise.all(due);
  }
  /** Test helper: awaits the instances' waitUntil promises. */
  async settle() {
    for (;;) {
      const waits = [...this.#instances.values()].flatMap((i) => [...i.waits]);
      if (waits.length === 0) return;
      await Promise.all(waits);
    }
  }
}

export { DurableObjectNamespace as MemoryDurableObjectNamespace };

// ---------------------------------------------------------------------------------------------
// ExecutionContext, cookies, the whole kit

/** A fake ExecutionContext: `waitUntil` collects promises, `settle()` awaits them (and later ones). */
export function createExecutionContext() {
  const pending = new Set();
  const errors = [];
  return {
    props: {},
    waitUntil(promise) {
      const p = Promise.resolve(promise).catch((err) => {
        errors.push(err);
      });
      pending.add(p);
      p.finally(() => pending.delete(p));
    },
    passThroughOnException() {},
    /** Awaits everything passed to waitUntil so far (and what those add); rejects with the first failure. */
    async settle() {
      while (pending.size > 0) await Promise.all([...pending]);
      if (errors.length > 0) throw errors.splice(0)[0];
    },
  };
}

/** The cookies a response sets, as `name -> value` (null when the cookie is expired). */
export function responseCookies(response) {
  const out = new Map();
  const lines = response?.headers?.getSetCookie?.() ?? [];
  for (const line of lines) {
    const [pair, ...attrs] = line.split(";");
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let expired = false;
    for (const a of attrs) {
      const [k, v = ""] = a.split("=");
      const key = k.trim().toLowerCase();
      if (key === "max-age" && Number(v.trim()) <= 0) expired = true;
      if (key === "expires" && Date.parse(v.trim()) <= Date.now()) expired = true;
    }
    out.set(name, expired ? null : value);
  }
  return out;
}

/**
 * A Request to `url` carrying the cookies `previous` set (or, for a jar, all cookies collected
 * so far), merged with `init`'s own Cookie header.
 */
function requestWithCookies(jar, url, previous, init = {}) {
  if (previous) {
    for (const [name, value] of responseCookies(previous)) {
      if (value === null) jar.delete(name);
      else jar.set(name, value);
    }
  }
  const headers = new Headers(init.headers);
  const pairs = [...jar].map(([n, v]) => `${n}=${v}`);
  if (headers.has("cookie")) pairs.unshift(headers.get("cookie"));
  if (pairs.length > 0) headers.set("cookie", pairs.join("; "));
  return new Request(url, { ...init, headers });
}

const DEFAULT_SECRET = "test-secret-edge-sessions-testing-0123456789abcdef";

/**
 * In-memory bindings and a real `Sessions` over them.
 *
 * @param options.env extra env entries (vars such as SESSION_TIMEOUT, other bindings)
 * @param options.options the Sessions options (second constructor argument)
 * @param options.secret SESSION_SECRET (default: a fixed test secret)
 */
export async function createTestSessions({ env: extraEnv = {}, options = {}, secret = DEFAULT_SECRET } = {}) {
  const mod = await loadSessions();
  const kv = new MemoryKV();
  const errors = [];
  const env = { SESSION_SECRET: secret, ...extraEnv, SESSIONS: kv };
  const locks = new DurableObjectNamespace(mod.SessionLock, env, errors);
  env.SESSION_LOCKS = locks;
  const sessions = new mod.Sessions(env, options);
  const ctx = createExecutionContext();
  const jar = new Map();
  return {
    module: mod,
    Sessions: mod.Sessions,
    sessions,
    env,
    ctx,
    kv,
    locks,
    /** Errors thrown by Durable Object alarms and waitUntil promises inside the objects. */
    errors,
    /**
     * A Request to `url` with the cookies of `previous` (a Response) in its Cookie header. The
     * kit keeps a jar: cookies from earlier responses passed here are sent too, and an
     * expired cookie is dropped.
     */
    request(url, previous, init) {
      return requestWithCookies(jar, url, previous, init);
    },
    /** The session cookie value `response` set (undefined: none; null: expired). */
    sessionCookie(response, name = options.SESSION_COOKIE_NAME ?? extraEnv.SESSION_COOKIE_NAME ?? "__Host-session") {
      const c = responseCookies(response);
      return c.has(name) ? c.get(name) : undefined;
    },
    /** Awaits ctx.waitUntil work and the lock objects' own background work. */
    async settle() {
      await ctx.settle();
      await locks.settle();
    },
    /** A fresh, empty cookie jar (a second browser) sharing the same storage. */
    clearCookies() {
      jar.clear();
    },
  };
}
