// The benchmark's peer: the smallest reasonable session proxy built the usual way on
// Cloudflare, in plain JS, to measure ours against. Not part of the product.
//
// - The session id travels in a cookie `<id>.<tag>`, tag = base64url HMAC-SHA256(secret, id)
//   (WebCrypto), verified on every request; a request without a valid one gets a new id and
//   a Set-Cookie.
// - One SQLite-backed Durable Object per session holds its JSON. A request makes one RPC
//   call, get(), and forwards the session to ORIGIN in X-Session-Data (base64url JSON, as our
//   proxy does). When the origin answers with X-Session-Update (a base64url JSON merge patch),
//   the worker applies it and makes a second call, put(json).
// - No lock: two concurrent writers on one session can lose an update (get, get, put, put).
//   That is the point of the comparison: what our locking and fencing cost over this.
// - Unlike our proxy, it signs no hand-off to the origin and mirrors nothing to KV.
import { DurableObject } from "cloudflare:workers";

const COOKIE = "peer-session";
const enc = new TextEncoder();

export class PeerSession extends DurableObject {
  /** The session's JSON text, or null. */
  async get() {
    return (await this.ctx.storage.get("s")) ?? null;
  }

  async put(json) {
    await this.ctx.storage.put("s", json);
  }
}

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64url = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

// Imported once per isolate, as our proxy parses its signer once.
let hmacKey;
const key = (secret) =>
  (hmacKey ??= crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]));

async function signedCookie(id, secret) {
  const tag = new Uint8Array(await crypto.subtle.sign("HMAC", await key(secret), enc.encode(id)));
  return `${COOKIE}=${id}.${b64url(tag)}; Path=/; HttpOnly; Secure; SameSite=Lax`;
}

/** The verified session id from the Cookie header, or null. */
async function verifiedId(cookieHeader, secret) {
  const pair = cookieHeader?.split(/;\s*/).find((c) => c.startsWith(COOKIE + "="));
  const [id, tag] = pair?.slice(COOKIE.length + 1).split(".") ?? [];
  if (!id || !tag) return null;
  try {
    return (await crypto.subtle.verify("HMAC", await key(secret), unb64url(tag), enc.encode(id))) ? id : null;
  } catch {
    return null; // a tag that is not base64url
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target, patch) {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export default {
  async fetch(req, env) {
    const known = await verifiedId(req.headers.get("cookie"), env.SESSION_SECRET);
    const id = known ?? b64url(crypto.getRandomValues(new Uint8Array(24)));
    const stub = env.PEER_SESSIONS.getByName(id);
    const json = known ? await stub.get() : null; // a new session is empty: no call

    // Forward without our cookie, with the session.
    const headers = new Headers(req.headers);
    const others = (req.headers.get("cookie") ?? "").split(/;\s*/).filter((c) => c && !c.startsWith(COOKIE + "="));
    if (others.length) headers.set("cookie", others.join("; "));
    else headers.delete("cookie");
    headers.set("x-session-id", id);
    headers.set("x-session-data", b64url(enc.encode(json ?? "{}")));
    const u = new URL(req.url);
    const res = await fetch(env.ORIGIN + u.pathname + u.search, { method: req.method, headers, body: req.body, redirect: "manual" });

    const out = new Response(res.body, res);
    const update = res.headers.get("x-session-update");
    if (update) {
      out.headers.delete("x-session-update");
      const patch = JSON.parse(new TextDecoder().decode(unb64url(update)));
      await stub.put(JSON.stringify(mergePatch(JSON.parse(json ?? "{}"), patch)));
    }
    if (!known) out.headers.append("set-cookie", await signedCookie(id, env.SESSION_SECRET));
    return out;
  },
};
