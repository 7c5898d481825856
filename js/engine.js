// The Rust engine, compiled to wasm (dist/, built by scripts/build.sh). Every session rule runs
// in it; the files beside this one only move bytes between it and the platform.
//
// A wasm trap (a Rust panic, or any other fault) leaves an instance's memory and stack in an
// unknown state. The layer then answers the failed request with an opaque 500, and new work
// goes to a fresh instance; requests already running on the old instance finish on it, as
// each holds its own instance's objects. (A panic inside an awaited step rejects that step's
// promise: src/js/task.rs.)
import wasmModule from "./dist/engine.wasm";
import { instantiate } from "./dist/engine.js";

/** The instances that trapped. */
const dead = new WeakSet();

function start() {
  const instance = instantiate(wasmModule);
  instance.onTrap(() => trapped(instance));
  return instance;
}

let current = start();

/** The engine instance new work should use. */
export function engine() {
  return current;
}

/** The error a request gets when its engine instance trapped: an opaque 500. */
export function trapError() {
  const err = new Error("session engine failed");
  err.status = 500;
  err.publicMessage = "internal error";
  return err;
}

/** `instance` trapped: new work gets a fresh instance (once per trapped instance). */
function trapped(instance) {
  if (dead.has(instance)) return;
  dead.add(instance);
  if (instance === current) {
    console.error(JSON.stringify({ level: "error", event: "engine_trap", msg: "wasm engine trapped; a fresh instance serves new requests" }));
    current = start();
  }
}

/** Whether `instance` trapped (its objects must not be used any more). */
export function isTrapped(instance) {
  return dead.has(instance);
}

/** Runs a synchronous engine call on `instance`; a trap becomes the opaque 500 error. */
export function call(instance, f) {
  try {
    return f();
  } catch (err) {
    if (!(err instanceof WebAssembly.RuntimeError)) throw err;
    trapped(instance);
    throw trapError();
  }
}

/** Awaits an engine promise of `instance`; a trap becomes the opaque 500 error. */
export async function settle(instance, promise) {
  try {
    return await promise;
  } catch (err) {
    if (!(err instanceof WebAssembly.RuntimeError)) throw err;
    trapped(instance);
    throw trapError();
  }
}

/** The binding names, here once: the KV namespace and the SessionLock Durable Object namespace. */
export const KV_BINDING = "SESSIONS";
export const LOCKS_BINDING = "SESSION_LOCKS";

/**
 * One per-env cache for the layers' engine objects: `make(instance)` runs once per env object
 * (the same on every request of an isolate), `key` (settings) and engine instance, so a request
 * parses no settings; after a trap the entry is rebuilt on the fresh instance.
 */
const perEnvCache = new WeakMap();
export function perEnv(env, key, make) {
  const instance = engine();
  let byKey = perEnvCache.get(env);
  if (!byKey) perEnvCache.set(env, (byKey = new Map()));
  let entry = byKey.get(key);
  if (!entry || entry.instance !== instance) {
    const core = make(instance);
    entry = { instance, core, pathHeader: core.pathHeader };
    byKey.set(key, entry);
  }
  return entry;
}

/** The opaque response for an engine error (its fixed status and body; details were logged), or null for any other error. */
export function errorResponse(err) {
  if (err && typeof err.status === "number" && typeof err.publicMessage === "string") {
    return new Response(err.publicMessage, { status: err.status, headers: { "cache-control": "no-store" } });
  }
  return null;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How the engine reaches a session's SessionLock object: one RPC call per operation, on the
 * object named by the session id. A granted `begin` returns the lease's stub: the lock's later
 * calls go through it (one RPC session, billed once), and disposing it releases the lease
 * (`close`). Failures reject with the runtime's error (its `retryable` and `overloaded` marks
 * are read by the engine, which decides about retries and about asking the object itself
 * when a call on a lease's stub fails).
 */
export function transport(env) {
  const locks = env[LOCKS_BINDING];
  const leases = new Map(); // channel (the begin's call id) -> lease stub
  return {
    async call(sid, op, body, channel) {
      if (op === "begin") {
        const { reply, lease } = await locks.getByName(sid).begin(body);
        if (lease) leases.set(channel, lease);
        return reply;
      }
      const lease = channel && leases.get(channel);
      return lease ? lease[op](body) : locks.getByName(sid)[op](body);
    },
    /** A call on the channel failed: drop its stub (the engine asks the object instead). */
    forget(channel) {
      return leases.delete(channel);
    },
    close(channel) {
      const lease = leases.get(channel);
      if (!lease) return false;
      leases.delete(channel);
      lease[Symbol.dispose]();
      return true;
    },
    sleep,
  };
}

/** The KV calls of the expiry sweep. */
export function sweepStore(kv) {
  return {
    get: (key) => kv.get(key),
    put: (key, value) => kv.put(key, value),
    delete: (key) => kv.delete(key),
    list: async (prefix, cursor, limit) => JSON.stringify(await kv.list({ prefix, cursor: cursor ?? undefined, limit })),
  };
}
