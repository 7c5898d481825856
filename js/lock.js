// SessionLock: the Durable Object each session id gets, reached over RPC. Its rules (the FIFO
// lock, leases and fencing, the record, the KV mirror, expiry) are the engine's LockObject;
// this class hands it the object's storage, alarm and KV, and forwards each call.
import { DurableObject } from "cloudflare:workers";
import { engine, isTrap, renew } from "./engine.js";

/** The object's platform calls, as the engine asks for them (see src/engine/object.rs). */
class ObjectHost {
  #storage;
  #env;
  constructor(ctx, env) {
    this.#storage = ctx.storage;
    this.#env = env;
  }
  now() {
    return Date.now();
  }
  sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
  get(key) {
    return this.#storage.get(key);
  }
  put(key, value) {
    return this.#storage.put(key, value);
  }
  delete(key) {
    return this.#storage.delete(key);
  }
  setAlarm(at) {
    return this.#storage.setAlarm(at);
  }
  async deleteAll() {
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
  }
  kvPut(key, value, expiration, metadata) {
    return this.#env.SESSIONS.put(key, value, { expiration, metadata: JSON.parse(metadata) });
  }
  kvDelete(key) {
    return this.#env.SESSIONS.delete(key);
  }
}

/** The Durable Object class; bind it as SESSION_LOCKS (SQLite-backed). */
export class SessionLock extends DurableObject {
  #instance;
  #core;

  /** The engine object, rebuilt after a trap (as after a restart: leases held are refused). */
  #object() {
    const instance = engine();
    if (this.#instance !== instance) {
      this.#core = new instance.LockCore(new ObjectHost(this.ctx, this.env));
      this.#instance = instance;
    }
    return [instance, this.#core];
  }

  async #call(op, body) {
    const [instance, core] = this.#object();
    try {
      return await core.call(op, body);
    } catch (err) {
      if (isTrap(err)) renew(instance);
      throw new Error("session lock object failed");
    }
  }

  /** Lock (optionally) and load. `body` and the answer are JSON text (src/engine/wire.rs). */
  begin(body) {
    return this.#call("begin", body);
  }
  /** Apply a change, fenced by the caller's lease. */
  apply(body) {
    return this.#call("apply", body);
  }
  /** Release a lease. */
  release(body) {
    return this.#call("release", body);
  }
  /** Delete the session if it expired (the sweep). */
  sweep(body) {
    return this.#call("sweep", body);
  }

  async alarm() {
    const [instance, core] = this.#object();
    try {
      await core.alarm();
    } catch (err) {
      if (isTrap(err)) renew(instance);
      throw new Error("session lock alarm failed"); // the runtime retries the alarm
    }
  }
}
