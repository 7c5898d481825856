// The Rust engine, compiled to wasm (dist/, built by scripts/build.sh). Every session rule runs
// in it; the files beside this one only move bytes between it and the platform.
//
// A wasm trap (a Rust panic, or any other fault) leaves an instance's memory and stack in an
// unknown state. The layer then answers the failed request with an opaque 500 and swaps in a
// fresh instance for new requests (`renew`); requests already running on the old instance
// finish on it, as each holds its own instance's objects.
import wasmModule from "./dist/engine.wasm";
import { instantiate } from "./dist/engine.js";

let current = instantiate(wasmModule);

/** The engine instance new work should use. */
export function engine() {
  return current;
}

/** Whether `err` is a wasm trap (as opposed to an error the engine threw on purpose). */
export function isTrap(err) {
  return err instanceof WebAssembly.RuntimeError;
}

/** After a trap in `instance`: new work gets a fresh instance (once per trapped instance). */
export function renew(instance) {
  if (instance === current) {
    console.error(JSON.stringify({ level: "error", event: "engine_trap", msg: "wasm engine trapped; re-instantiated" }));
    current = instantiate(wasmModule);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How the engine reaches a session's SessionLock object: one RPC call per operation, on the
 * object named by the session id. Failures reject with the runtime's error (its `retryable`
 * and `overloaded` marks are read by the engine, which decides about retries).
 */
export function transport(env) {
  const locks = env.SESSION_LOCKS;
  return {
    call: (sid, op, body) => locks.getByName(sid)[op](body),
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
