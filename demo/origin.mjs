// The demo origin behind the session proxy: a page driven only by the proxy's headers that
// shows what the proxy does. It never sees a cookie or a storage API; it reads the session the
// proxy hands over (after checking the hand-off signature) and answers with X-Session-Update
// (a JSON merge patch) and X-Session-Action.
//   GET  /                    count this visit; show the session (id hash, state, data), the
//                             cookie the proxy sets, and the lock race
//   POST /login?user=NAME     log in (regenerates the id, as every login should), 303 to /
//   POST /logout              destroy the session, 303 to /?destroyed=1
//   POST /race/locked/incr    read lockedCount, wait a little, write lockedCount + 1
//   POST /race/unlocked/incr  the same for unlockedCount; the proxy serves this path without
//                             the lock when SESSION_UNLOCKED_PATHS=/race/unlocked
//   POST /race/reset          set both counters to 0
//   GET  /race/state          both counters as JSON
// A request that did not come through the proxy (no signature, a forged or altered one, or one
// older than 60 s) gets 401: an origin that can be reached directly must not believe
// X-Session-* headers on their own.
import http from "node:http";
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { verifyHandoff } from "../js/handoff.js";

const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** What the page shows instead of the session id: the same 12-hex tag the proxy logs. */
const idHash = (id) => (id ? createHash("sha256").update(id).digest("hex").slice(0, 12) : "none");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** How long an increment holds its read value before writing it back (ms): long enough that
 * requests served without the lock overlap and lose updates. */
const RACE_DELAY_MS = 30;
const RACE_REQUESTS = 20;

/** Starts the demo on `port` (0: any free port); `secrets` are the proxy's. */
export function startDemo({ port = 8788, originSecret, sessionSecret } = {}) {
  const server = http.createServer(async (req, res) => {
    let session;
    try {
      session = await verifyHandoff({ method: req.method, target: req.url, headers: req.headers }, { originSecret, sessionSecret });
    } catch (err) {
      if (err.name !== "HandoffError") throw err;
      res.writeHead(401, { "content-type": "text/plain" }).end(`refused: ${err.reason} session hand-off\n`);
      return;
    }
    const url = new URL(req.url, "http://demo");
    const { data, isNew } = session;
    const headers = { "content-type": "text/html; charset=utf-8" };
    const json = (status, body, update) => {
      const h = { "content-type": "application/json", "cache-control": "no-store" };
      if (update) h["X-Session-Update"] = b64(update);
      res.writeHead(status, h).end(JSON.stringify(body));
    };

    if (req.method === "POST" && url.pathname === "/login") {
      headers["X-Session-Action"] = "regenerate";
      headers["X-Session-Update"] = b64({ user: url.searchParams.get("user") || "guest" });
      res.writeHead(303, { ...headers, location: "/" }).end();
      return;
    }
    if (req.method === "POST" && url.pathname === "/logout") {
      headers["X-Session-Action"] = "destroy";
      res.writeHead(303, { ...headers, location: "/?destroyed=1" }).end();
      return;
    }
    const incr = /^\/race\/(locked|unlocked)\/incr$/.exec(url.pathname);
    if (req.method === "POST" && incr) {
      // read-modify-write: correct only if no other request on this session runs meanwhile
      const key = incr[1] === "locked" ? "lockedCount" : "unlockedCount";
      const seen = Number(data[key]) || 0;
      await sleep(RACE_DELAY_MS);
      json(200, { [key]: seen + 1 }, { [key]: seen + 1 });
      return;
    }
    if (req.method === "POST" && url.pathname === "/race/reset") {
      json(200, { lockedCount: 0, unlockedCount: 0 }, { lockedCount: 0, unlockedCount: 0 });
      return;
    }
    if (req.method === "GET" && url.pathname === "/race/state") {
      json(200, { lockedCount: Number(data.lockedCount) || 0, unlockedCount: Number(data.unlockedCount) || 0 });
      return;
    }
    if (url.pathname !== "/") {
      res.writeHead(404, headers).end("not found");
      return;
    }

    const hash = idHash(session.id);
    // The id hash seen on the previous visit is kept in the session: a different one under the
    // same data means the proxy regenerated the id (login).
    const state = isNew
      ? url.searchParams.has("destroyed")
        ? "new (the previous session was destroyed by logout)"
        : "new"
      : data.idHash && data.idHash !== hash
        ? `regenerated (id hash was ${data.idHash})`
        : "existing";
    const visits = (data.visits || 0) + 1;
    headers["X-Session-Update"] = b64({ visits, idHash: hash });
    headers["cache-control"] = "no-store";
    res.writeHead(200, headers);
    res.end(`<!doctype html><meta charset="utf-8"><title>edge-sessions demo</title>
<style>body{font:16px/1.4 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}
code,pre{background:#f4f4f4;padding:0 .2em}td,th{padding:.2em .8em;text-align:left}
form{display:inline}button{margin:.2em}</style>
<h1>Visit number ${visits}${isNew ? " (new session)" : ""}</h1>
<p id="user">User: ${escape(data.user || "nobody")}</p>
<form method="post" action="/login?user=ann"><button id="login">Log in as ann</button></form>
<form method="post" action="/logout"><button id="logout">Log out</button></form>

<h2>Session</h2>
<table>
<tr><th>id hash</th><td><code id="id-hash">${hash}</code> (first 12 hex digits of SHA-256 of the id, the tag the proxy logs; the id itself never appears here)</td></tr>
<tr><th>state</th><td id="session-state">${escape(state)}</td></tr>
</table>
<p>Data the proxy handed over in <code>X-Session-Data</code> (before this visit's update):</p>
<pre id="session-data">${escape(JSON.stringify(data, null, 2))}</pre>
<p>Login answers <code>X-Session-Action: regenerate</code> with <code>X-Session-Update: {"user":"ann"}</code>:
the proxy moves the data to a new id (the id hash changes) and deletes the old one. Logout answers
<code>X-Session-Action: destroy</code>: the proxy deletes the data and expires the cookie.</p>

<h2>Cookie</h2>
<p>The proxy, not this page, sets the cookie <code>__Host-session=&lt;id&gt;.&lt;HMAC-SHA256 tag&gt;</code> with
<code>HttpOnly</code> (scripts cannot read it), <code>Secure</code>, <code>SameSite=Lax</code>, <code>Path=/</code>,
no <code>Domain</code> (the <code>__Host-</code> prefix makes the browser insist on Secure, Path=/ and no Domain) and
<code>Max-Age</code> = the idle timeout (<code>SESSION_TIMEOUT</code>, 60 minutes by default, at most 400 days).
This origin never sees it: the proxy removes it from the forwarded <code>Cookie</code> header. Look it up in
your browser's developer tools (Application → Cookies).</p>
<p>What a script on this page sees in <code>document.cookie</code>: <code id="doc-cookie"></code></p>

<h2>Lock race</h2>
<p>Each increment reads a counter from the session, waits ${RACE_DELAY_MS} ms and writes it back plus one.
The button resets both counters, then sends ${RACE_REQUESTS} concurrent increments to
<code>/race/locked/incr</code> (the proxy takes the session lock: requests run one after another) and
${RACE_REQUESTS} to <code>/race/unlocked/incr</code> (served without the lock when
<code>SESSION_UNLOCKED_PATHS=/race/unlocked</code>: overlapping requests read the same value and
overwrite each other's increments).</p>
<button id="race">Race ${RACE_REQUESTS} + ${RACE_REQUESTS} increments</button>
<button id="reset">Reset counters</button>
<table>
<tr><th>with the lock</th><th>without the lock</th></tr>
<tr><td id="locked-count">${Number(data.lockedCount) || 0}</td><td id="unlocked-count">${Number(data.unlockedCount) || 0}</td></tr>
</table>
<p id="race-status"></p>
<script>
document.getElementById("doc-cookie").textContent =
  JSON.stringify(document.cookie) + (/(^|; )__Host-session=/.test(document.cookie) ? "" : " (no __Host-session: it is HttpOnly)");
const $ = (id) => document.getElementById(id);
const post = (path) => fetch(path, { method: "POST", credentials: "same-origin" }).then((r) => {
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
});
async function show() {
  const s = await fetch("/race/state", { credentials: "same-origin" }).then((r) => r.json());
  $("locked-count").textContent = s.lockedCount;
  $("unlocked-count").textContent = s.unlockedCount;
  return s;
}
$("reset").onclick = async () => { await post("/race/reset"); await show(); $("race-status").textContent = "reset"; };
$("race").onclick = async () => {
  $("race-status").textContent = "racing...";
  try {
    await post("/race/reset");
    const fire = (kind) => Array.from({ length: ${RACE_REQUESTS} }, () => post("/race/" + kind + "/incr"));
    await Promise.all([...fire("locked"), ...fire("unlocked")]);
    const s = await show();
    $("race-status").textContent = "done: " + ${RACE_REQUESTS} + " increments each; with the lock " + s.lockedCount +
      ", without " + s.unlockedCount + " (" + (${RACE_REQUESTS} - s.unlockedCount) + " lost)";
  } catch (e) {
    $("race-status").textContent = "failed: " + e.message;
  }
};
</script>
`);
  });
  return new Promise((resolve) =>
    server.listen(port, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) });
    })
  );
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const demo = await startDemo({
    port: Number(process.env.PORT || 8788),
    originSecret: process.env.SESSION_ORIGIN_SECRET,
    sessionSecret: process.env.SESSION_SECRET,
  });
  console.log(`demo origin on ${demo.url}`);
}
