// The demo origin behind the session proxy: a counter page driven only by the proxy's
// headers. It never sees a cookie or a storage API; it reads X-Session-Data and answers with
// X-Session-Update (a JSON merge patch) and X-Session-Action.
//   GET  /          count this visit and show the session
//   POST /login     log in as ?user=NAME (regenerates the id, as every login should)
//   POST /logout    destroy the session
import http from "node:http";

const port = Number(process.env.PORT || 8788);
const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://demo");
  const raw = req.headers["x-session-data"];
  const data = raw ? JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) : {};
  const isNew = req.headers["x-session-new"] === "1";
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

server.listen(port, "127.0.0.1", () => console.log(`demo origin on http://127.0.0.1:${port}`));
