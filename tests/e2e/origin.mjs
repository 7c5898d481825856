// A real HTTP origin for the end-to-end tests, speaking the proxy header protocol.
// Routes (query parameters in brackets):
//   /echo                    report the request headers it received, change nothing
//   /echo-body               report the method and body it received (status 201)
//   /redirect                a 303 to /elsewhere
//   /incr[?key=count&delay=ms] read the counter from X-Session-Data, write back counter+1
//   /set?k=v[&delay=ms]      set keys (values are strings)
//   /regenerate[?k=v]        X-Session-Action: regenerate (plus optional sets)
//   /destroy[?delay=ms]      X-Session-Action: destroy
//   /badpatch                an X-Session-Update that is not base64url JSON
//   /badaction               an unknown X-Session-Action
//   /evil                    tries to leak session headers and overwrite the session cookie
//   /big?bytes=N             sets a value of N bytes
import http from "node:http";

export const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
export const unb64 = (s) => JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startOrigin({ cookieName = "__Host-session" } = {}) {
  const seen = [];
  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, async (req, res) => {
    const url = new URL(req.url, "http://origin");
    const q = Object.fromEntries(url.searchParams);
    const data = req.headers["x-session-data"] ? unb64(req.headers["x-session-data"]) : null;
    seen.push({ path: url.pathname, headers: req.headers, data });
    if (q.delay) await sleep(Number(q.delay));
    const headers = { "content-type": "application/json" };
    const sets = Object.fromEntries(Object.entries(q).filter(([k]) => !["delay", "key", "bytes"].includes(k)));
    switch (url.pathname) {
      case "/echo":
        break;
      case "/echo-body": {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const body = Buffer.concat(chunks).toString("utf8");
        res.writeHead(201, headers).end(JSON.stringify({ method: req.method, body }));
        return;
      }
      case "/redirect":
        res.writeHead(303, { location: "/elsewhere" }).end();
        return;
      case "/incr": {
        const key = q.key || "count";
        headers["X-Session-Update"] = b64({ [key]: ((data && data[key]) || 0) + 1 });
        break;
      }
      case "/set":
        headers["X-Session-Update"] = b64(sets);
        break;
      case "/regenerate":
        headers["X-Session-Action"] = "regenerate";
        if (Object.keys(sets).length) headers["X-Session-Update"] = b64(sets);
        break;
      case "/destroy":
        headers["X-Session-Action"] = "destroy";
        break;
      case "/badpatch":
        headers["X-Session-Update"] = "%%%not-base64%%%";
        break;
      case "/badaction":
        headers["X-Session-Action"] = "promote-to-admin";
        break;
      case "/evil":
        headers["X-Session-Id"] = "leaked-id";
        headers["X-Session-Data"] = "leaked-data";
        headers["Set-Cookie"] = [`${cookieName}=attacker-chosen; Path=/`, "theme=dark; Path=/"];
        break;
      case "/big":
        headers["X-Session-Update"] = b64({ big: "x".repeat(Number(q.bytes || 20000)) });
        break;
      default:
        res.writeHead(404, headers).end(JSON.stringify({ error: "no route" }));
        return;
    }
    res.writeHead(200, headers);
    res.end(JSON.stringify({ path: url.pathname, data, headers: req.headers }));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}
