// Verifies the session proxy's signed hand-off on the origin: the X-Session-Signature header
// proves that X-Session-Id, X-Session-Data and X-Session-New came from the proxy, for this
// method and request target, recently. No wasm and no dependencies: WebCrypto only, so it runs
// in Node 18+, Workers, Deno and Bun. The algorithm is in docs/protocol.md ("Signed hand-off").
const enc = new TextEncoder();
const CONTEXT = "edge-sessions/v1/handoff";
const KEY_CONTEXT = "edge-sessions/v1/origin-key";

/** A refused hand-off; `reason` is "malformed", "stale" or "forged". */
export class HandoffError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = "HandoffError";
    this.reason = reason;
  }
}

const hmacKey = (bytes, usage) =>
  crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, [usage]);

/**
 * The hand-off key: SESSION_ORIGIN_SECRET when given (recommended: the origin never needs the
 * cookie secret), else derived from the first SESSION_SECRET entry.
 */
async function keyBytes({ originSecret, sessionSecret }) {
  if (originSecret && originSecret.trim()) return enc.encode(originSecret.trim());
  const first = (sessionSecret ?? "").split(",").map((s) => s.trim()).find(Boolean);
  if (!first) throw new TypeError("verifyHandoff needs originSecret (SESSION_ORIGIN_SECRET) or sessionSecret");
  const k = await hmacKey(enc.encode(first), "sign");
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(KEY_CONTEXT)));
}

/** The message the signature covers. */
export function handoffMessage(t, { method, target, id, data, isNew }) {
  return [CONTEXT, t, method, target, id ?? "", data ?? "", isNew ? "1" : ""].join("\n");
}

/** Signs like the proxy does (for tests and for other proxies speaking the same protocol). */
export async function signHandoff(fields, secrets, t = Math.floor(Date.now() / 1000)) {
  const k = await hmacKey(await keyBytes(secrets), "sign");
  const tag = new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(handoffMessage(t, fields))));
  return `t=${t},v1=${[...tag].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function header(headers, name) {
  const v = typeof headers?.get === "function" ? headers.get(name) : headers?.[name];
  if (Array.isArray(v)) throw new HandoffError("malformed", `${name} sent more than once`);
  return v ?? undefined;
}

/**
 * Checks a request received from the proxy. `request` is `{ method, target, headers }` where
 * `target` is the path and query as received (Node: `req.url`; Workers: `url.pathname +
 * url.search`) and `headers` a Headers object or Node's `req.headers`. Resolves to the
 * session `{ id, data, isNew }`; rejects with a HandoffError when the signature is missing,
 * malformed, older than `maxAgeSeconds` (default 60) or does not match.
 */
export async function verifyHandoff(request, { originSecret, sessionSecret, maxAgeSeconds = 60, now, prefix = "x-session-" } = {}) {
  const p = prefix.toLowerCase();
  const sig = header(request.headers, `${p}signature`);
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec((sig ?? "").trim());
  if (!m) throw new HandoffError("malformed", "no valid session hand-off signature");
  const t = Number(m[1]);
  const at = Math.floor(now ?? Date.now() / 1000);
  if (t + maxAgeSeconds < at || t > at + 5) throw new HandoffError("stale", "session hand-off signature is too old");
  const fields = {
    method: request.method,
    target: request.target,
    id: header(request.headers, `${p}id`),
    data: header(request.headers, `${p}data`),
    isNew: header(request.headers, `${p}new`) === "1",
  };
  const tag = new Uint8Array(m[2].match(/../g).map((h) => parseInt(h, 16)));
  const k = await hmacKey(await keyBytes({ originSecret, sessionSecret }), "verify");
  // WebCrypto's verify compares in constant time
  if (!(await crypto.subtle.verify("HMAC", k, tag, enc.encode(handoffMessage(t, fields))))) {
    throw new HandoffError("forged", "session hand-off signature does not match");
  }
  const json = fields.data ? new TextDecoder().decode(Uint8Array.from(atob(fields.data.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))) : "{}";
  return { id: fields.id, data: JSON.parse(json), isNew: fields.isNew };
}
