// SessionLock: the Durable Object each session id gets, reached over RPC. Its rules (the FIFO
// lock, leases and fencing, the record, the KV mirror, expiry) are the engine's LockObject;
// this class hands it the object's storage, alarm and KV, and forwards each call.
import { DurableObject, RpcTarget } from "cloudflare:workers";
import { engine, call, settle, KV_BINDING, LOCKS_BINDING } from "./engine.js";

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
    return this.#env[KV_BINDING].put(key, value, { expiration, metadata: JSON.parse(metadata) });
  }
  kvDelete(key) {
    return this.#env[KV_BINDING].delete(key);
  }
  /** A call to another object of this class: a session's user index, or a session. */
  call(name, op, body) {
    return this.#env[LOCKS_BINDING].getByName(name)[op](body);
  }
}

/**
 * A granted lease, returned by `begin` to the caller as an RPC stub: the request's later calls
 * (`apply`, `release`) go through it, in the same RPC session (one billed request), and when
 * the caller disposes it, or dies and its session breaks, the lease is released at once.
 */
class Lease extends RpcTarget {
  #lock;
  #ended;
  /** `ended` runs when the caller disposes the stub or its RPC session breaks. */
  constructor(lock, ended) {
    super();
    this.#lock = lock;
    this.#ended = ended;
  }
  apply(body) {
    return this.#lock.apply(body);
  }
  release(body) {
    return this.#lock.release(body);
  }
  [Symbol.dispose]() {
    this.#ended(this);
  }
}

/** The Durable Object class; bind it as SESSION_LOCKS (SQLite-backed). */
export class SessionLock extends DurableObject {
  #instance;
  #core;
  /** token -> the Lease last handed out for it (a retried begin gets a new stub) */
  #leases = new Map();

  /**
   * The engine object. After a trap in this isolate it moves to the fresh engine instance once
   * no request holds or waits for its lock, so in-flight holders keep their leases; if the
   * trap was its own, it moves at once (as after a restart: leases held are refused).
   */
  #object() {
    const instance = engine();
    if (this.#instance !== instance && this.#movable()) {
      this.#core = new instance.LockCore(new ObjectHost(this.ctx, this.env));
      this.#instance = instance;
    }
    return [this.#instance, this.#core];
  }

  #movable() {
    if (this.#core === undefined) return true;
    try {
      return call(this.#instance, () => this.#core.idle());
    } catch {
      return true; // its own instance is broken
    }
  }

  async #call(op, body) {
    const [instance, core] = this.#object();
    return settle(instance, call(instance, () => core.call(op, body)));
  }

  /**
   * Lock (optionally) and load. `body` and `reply` are JSON text (src/engine/wire.rs); `lease`
   * is the granted lease's stub, when a lock was taken.
   */
  async begin(body) {
    const [instance, core] = this.#object();
    const [reply, token] = await settle(instance, call(instance, () => core.beginLeased(body)));
    if (token === undefined) return { reply };
    const lease = new Lease(this, (ended) => this.#ended(ended, token));
    this.#leases.set(token, lease);
    return { reply, lease };
  }

  /** A lease's stub was disposed: release it, unless a newer stub (a retried begin) holds it. */
  #ended(lease, token) {
    if (this.#leases.get(token) !== lease) return;
    this.#leases.delete(token);
    const [instance, core] = this.#object();
    try {
      call(instance, () => core.releaseToken(token));
    } catch {
      // a trapped engine: the lease runs out instead
    }
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
  /** Destroy the session now, revoking its lease (its user's index asks). */
  kill(body) {
    return this.#call("kill", body);
  }
  /** As a user's index (named user:<uid>): list a session. */
  userAdd(body) {
    return this.#call("userAdd", body);
  }
  /** As a user's index: unlist a session. */
  userRemove(body) {
    return this.#call("userRemove", body);
  }
  /** As a user's index: the live sessions. */
  userList(body) {
    return this.#call("userList", body);
  }
  /** As a user's index: destroy the sessions (all, or all but one). */
  userDestroy(body) {
    return this.#call("userDestroy", body);
  }

  /** Mirrors to KV or purges; a failure rejects, and the runtime retries the alarm. */
  async alarm() {
    const [instance, core] = this.#object();
    return settle(instance, call(instance, () => core.alarm()));
  }
}
