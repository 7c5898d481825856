// Opt-in capture of the real inputs the e2e tests send, for the fuzz corpus
// (fuzz/seed-from-e2e.mjs). Off, and doing nothing at all, unless FUZZ_CAPTURE_DIR is set.
// Then each input is written once to $FUZZ_CAPTURE_DIR/<target>/<sha256 prefix>, in the byte
// format that fuzz target reads (the check_* functions in fuzz/src/lib.rs):
//   cookie_select   a Cookie header: the tests' requests, and what the origin receives
//   signed_value    a cookie value: pairs of those Cookie headers, Set-Cookie values, X-Session-Id
//   origin_answer   flags byte, X-Session-Update, 0x00, X-Session-Action, as the origin answers
//                   (flag 8 when the hand-off carried data; also a flag-4 copy with the
//                   update's decoded bytes)
//   merge_patch     the origin's decoded update, and [hand-off data, update]
//   record_decode   KV values under "session:" (read by a test, or left at dispose)
// plus config-vars/: each worker's string bindings as JSON, which the seed script encodes.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

const DIR = process.env.FUZZ_CAPTURE_DIR;

function record(target, input) {
  try {
    const buf = Buffer.isBuffer(input) ? input : Buffer.from(String(input), "utf8");
    const dir = path.join(DIR, target);
    mkdirSync(dir, { recursive: true });
    const name = createHash("sha256").update(buf).digest("hex").slice(0, 20);
    writeFileSync(path.join(dir, name), buf, { flag: "wx" });
  } catch {
    // already captured (same content), or unwritable: never fail a test over it
  }
}

function cookieHeader(header) {
  record("cookie_select", header);
  for (const pair of header.split(";")) {
    const i = pair.indexOf("=");
    if (i >= 0 && pair.slice(i + 1).trim()) record("signed_value", pair.slice(i + 1).trim());
  }
}

function kvValue(key, value) {
  if (typeof key === "string" && key.startsWith("session:") && typeof value === "string") record("record_decode", value);
}

/** The handle of a started worker (harness startModule, faults startFaultyWorker), with fetch,
 * kv.get and dispose recording what passes; unchanged when capture is off. */
export function captureWorker(handle, options) {
  if (!DIR) return handle;
  const vars = Object.entries(options.bindings ?? {}).filter(([, v]) => typeof v === "string");
  record("config-vars", JSON.stringify(Object.fromEntries(vars)));
  const { fetch, dispose, kv } = handle;
  handle.fetch = async (p, init = {}) => {
    let cookie = null;
    try {
      cookie = new Headers(init.headers).get("cookie");
    } catch {}
    if (cookie) cookieHeader(cookie);
    const res = await fetch(p, init);
    for (const c of res.headers.getSetCookie()) {
      const v = c.split(";")[0];
      if (v.indexOf("=") > 0) record("signed_value", v.slice(v.indexOf("=") + 1));
    }
    return res;
  };
  if (kv) {
    handle.kv = new Proxy(kv, {
      get(target, prop) {
        const v = Reflect.get(target, prop);
        if (typeof v !== "function") return v;
        if (prop !== "get") return v.bind(target);
        return async (...args) => {
          const value = await v.apply(target, args);
          kvValue(args[0], value);
          return value;
        };
      },
    });
  }
  handle.dispose = async () => {
    try {
      let cursor;
      do {
        const page = await kv.list({ prefix: "session:", cursor });
        for (const { name } of page.keys) kvValue(name, await kv.get(name));
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
    } catch {
      // no KV, or it is already gone
    }
    return dispose();
  };
  return handle;
}

/** Called by the origin for each plain request: records its Cookie header and X-Session-Id,
 * and (through res.writeHead) the update and action it answers with. */
export function captureOrigin(req, res, data) {
  if (!DIR) return;
  if (req.headers.cookie) cookieHeader(req.headers.cookie);
  if (req.headers["x-session-id"]) record("signed_value", req.headers["x-session-id"]);
  const writeHead = res.writeHead;
  res.writeHead = function (...args) {
    const h = args.find((a) => a && typeof a === "object" && !Array.isArray(a)) ?? {};
    const get = (name) => Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1];
    const update = get("x-session-update");
    const action = get("x-session-action");
    const flags = (update !== undefined ? 1 : 0) | (action !== undefined ? 2 : 0) | (data && Object.keys(data).length ? 8 : 0);
    const answer = (f, u) => Buffer.concat([Buffer.from([f]), u, Buffer.from([0]), Buffer.from(action ?? "")]);
    record("origin_answer", answer(flags, Buffer.from(update ?? "")));
    if (typeof update === "string") {
      const raw = Buffer.from(update, "base64url");
      // the flag-4 form re-encodes these bytes: only when that gives the header back exactly
      if (raw.toString("base64url") === update && !raw.includes(0)) record("origin_answer", answer(flags | 4, raw));
      try {
        const patch = JSON.parse(raw.toString("utf8"));
        record("merge_patch", JSON.stringify(patch));
        if (data) record("merge_patch", JSON.stringify([data, patch]));
      } catch {
        // not base64url JSON (the /badpatch route)
      }
    }
    return writeHead.apply(this, args);
  };
}
