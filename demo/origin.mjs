// The demo origin behind the session proxy: a counter page driven only by the proxy's
// headers. It never sees a cookie or a storage API; it reads the session the proxy hands over
// (after checking the hand-off signature) and answers with X-Session-Update (a JSON merge
// patch) and X-Session-Action.
//   GET  /          count this visit and show the session
//   POST /login     log in as ?user=NAME (regenerates the id, as every login should)
//   POST /logout    destroy the session
// A request that did not come through the proxy (no signature, a forged or altered one, or one
// older than 60 s) gets 401: an origin that can be reached directly must not believe
// X-Session-* headers on their own.
import http from "node:http";
import { pathToFileURL } from "node:url";
import { verifyHandoff } from "../js/handoff.js";

const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

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
    if (req.method === "POST" && url.pathname === "/login") {
      headers["X-Session-Action"] = "regenerate";
      headers["X-Session-Update"] = b64({ user: url.searchParams.get("user") || "guest" });
      res.writeHead(303, { ...headers, location: "/" }).end();
      return;
    }
    if (req.method === "POST" && url.pathname === "/logout") {
      headers["X-Session-Action"] = "destroy";
      res.writeHead(303, { ...headers, location: "/" }).end();
      return;
    }
    if (url.pathname !== "/") {
      res.writeHead(404, headers).end("not found");
      return;
    }
    const visits = (data.visits || 0) + 1;
    headers["X-Session-Update"] = b64({ visits });
    res.writeHead(200, headers);
    res.end(`<!doctype html><title>edge-sessions demo</title>
<h1>Visit number ${visits}${isNew ? " (new session)" : ""}</h1>
<p>User: ${escape(data.user || "nobody")}</p>
<form method="post" action="/login?user=ann"><button>Log in as ann</button></form>
<form method="post" action="/logout"><button>Log out</button></form>
<pre>${escape(JSON.stringify({ ...data, visits }, null, 2))}</pre>
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
