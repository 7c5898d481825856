// A real HTTP origin for the end-to-end tests, speaking the proxy header protocol.
// Routes (query parameters in brackets):
//   /echo                    report the request headers it received, change nothing
//   /echo-body               report the method and body it received (status 201)
//   /redirect                a 303 to /elsewhere
//   /incr[?key=count&delay=ms] read the counter from X-Session-Data, write back counter+1
//   /set?k=v[&delay=ms]      set keys (values are strings)
//   /regenerate[?k=v]        X-Session-Action: regenerate (plus optional sets)
//   /remember[?t=30d]        regenerate + X-Session-Timeout (remember me)
//   /destroy[?delay=ms]      X-Session-Action: destroy
//   /login-user?user=u[&client=c]  regenerate, X-Session-User: u (X-Session-Client: c), sets {user}
//   /logout-others           X-Session-Action: destroy-user-others
//   /logout-everywhere       X-Session-Action: destroy-user
//   /badpatch                an X-Session-Update that is not base64url JSON
//   /badaction               an unknown X-Session-Action
//   /evil                    tries to leak session headers and overwrite the session cookie
//   /big?bytes=N             sets a value of N bytes
//   /patch?p=<b64 JSON>      answers 200 with X-Session-Update: p (the patch, verbatim)
//   /status?code=N[&p=..]    answers status N with a small body (301: with a location), and
//                            the patch p as X-Session-Update when given
//   /evil-names              response headers whose names normalize to the session prefix
//   /ws (an Upgrade request) RFC 6455 handshake by hand, then one text frame "hello"
// Every route also takes [&barrier=name&n=count]: the response is held until `count` requests
// with that barrier name have arrived (a real barrier), and [&gate=name]: the response is held
// until the test calls origin.open(name). origin.arrived(name, k) resolves once k requests
// with that barrier/gate name are inside the handler.
import http from "node:http";
import { createHash } from "node:crypto";
import { verifyHandoff } from "../../js/handoff.js";
import { SECRET } from "./harness.mjs";
import { captureOrigin } from "./capture.mjs";

/** "ok", or why the proxy's signed hand-off did not verify (every request must say "ok"). */
async function checkHandoff(req) {
  try {
    await verifyHandoff({ method: req.method, target: req.url, headers: req.headers }, { sessionSecret: SECRET });
    return "ok";
  } catch (err) {
    return err.reason ?? String(err);
  }
}

export const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
export const unb64 = (s) => JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Named meeting points: arrivals are counted; waiters wake at a count or when opened. */
function rendezvous() {
  const points = new Map();
  const point = (name) => {
    if (!points.has(name)) points.set(name, { count: 0, opened: false, waiters: [] });
    return points.get(name);
  };
  const wake = (p) => {
    p.waiters = p.waiters.filter((w) => {
      if (!w.test(p)) return true;
      w.resolve();
      return false;
    });
  };
  const waitFor = (name, test) => {
    const p = point(name);
    if (test(p)) return Promise.resolve();
    return new Promise((resolve) => p.waiters.push({ test, resolve }));
  };
  return {
    arrive(name) {
      const p = point(name);
      p.count++;
      wake(p);
    },
    /** resolves once `k` requests have arrived at `name` */
    arrived: (name, k = 1) => waitFor(name, (p) => p.count >= k),
    /** resolves once `name` is opened */
    gate: (name) => waitFor(name, (p) => p.opened),
    open(name) {
      const p = point(name);
      p.opened = true;
      wake(p);
    },
  };
}

/** The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 section 4.2.2). */
export const wsAccept = (key) =>
  createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");

const CONTROL = ["delay", "key", "bytes", "barrier", "gate", "p", "code", "client"];

export async function startOrigin({ cookieName = "__Host-session" } = {}) {
  const seen = [];
  const meet = rendezvous();
  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, async (req, res) => {
    const url = new URL(req.url, "http://origin");
    const q = Object.fromEntries(url.searchParams);
    const data = req.headers["x-session-data"] ? unb64(req.headers["x-session-data"]) : null;
    captureOrigin(req, res, data); // FUZZ_CAPTURE_DIR only: records inputs for the fuzz corpus
    const handoff = await checkHandoff(req);
    seen.push({ path: url.pathname, method: req.method, headers: req.headers, rawHeaders: req.rawHeaders, data, handoff });
    if (q.barrier) {
      meet.arrive(q.barrier);
      await meet.arrived(q.barrier, Number(q.n || 2));
    }
    if (q.gate) {
      meet.arrive(q.gate);
      await meet.gate(q.gate);
    }
    if (q.delay) await sleep(Number(q.delay));
    const headers = { "content-type": "application/json" };
    if (q.p) headers["X-Session-Update"] = q.p;
    const control = (k) => CONTROL.includes(k) || (k === "n" && q.barrier);
    const sets = Object.fromEntries(Object.entries(q).filter(([k]) => !control(k)));
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
      case "/remember":
        // login with "remember me": regenerate, a user, and this session's own timeout
        headers["X-Session-Action"] = "regenerate";
        headers["X-Session-Update"] = b64({ user: "ann" });
        headers["X-Session-Timeout"] = q.t || "30d";
        break;
      case "/destroy":
        headers["X-Session-Action"] = "destroy";
        break;
      case "/login-user":
        // login bound to a user: regenerate, X-Session-User and a client description
        headers["X-Session-Action"] = "regenerate";
        headers["X-Session-User"] = q.user;
        if (q.client) headers["X-Session-Client"] = q.client;
        headers["X-Session-Update"] = b64({ user: q.user });
        break;
      case "/logout-others":
        headers["X-Session-Action"] = "destroy-user-others";
        break;
      case "/logout-everywhere":
        headers["X-Session-Action"] = "destroy-user";
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
      case "/patch":
        break;
      case "/status": {
        const code = Number(q.code);
        if (code === 301) headers.location = "/moved";
        const noBody = code === 204 || code === 304;
        // writeHead accepts 100-999; a status outside 200-599 is for the proxy to refuse
        res.writeHead(code, headers);
        res.end(noBody ? undefined : `status ${code}`);
        return;
      }
      case "/evil-names":
        headers["X_Session_Id"] = "leaked-id";
        headers["x.session.data"] = "leaked-data";
        headers["X_SESSION_NEW"] = "1";
        headers["x.Session_Update"] = b64({ admin: true });
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
  const upgraded = new Set();
  server.on("upgrade", async (req, socket) => {
    upgraded.add(socket);
    socket.on("close", () => upgraded.delete(socket));
    // a WebSocket handshake by hand: 101 with the accept hash, then one unmasked text frame
    const url = new URL(req.url, "http://origin");
    const data = req.headers["x-session-data"] ? unb64(req.headers["x-session-data"]) : null;
    const handoff = await checkHandoff(req);
    seen.push({ path: url.pathname, method: req.method, headers: req.headers, rawHeaders: req.rawHeaders, data, upgrade: true, handoff });
    const key = req.headers["sec-websocket-key"];
    if (!key || (req.headers.upgrade || "").toLowerCase() !== "websocket") {
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    socket.on("error", () => {});
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${wsAccept(key)}\r\n\r\n`
    );
    const text = Buffer.from("hello");
    socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
    // the client's frames are ignored; a close frame from it ends the socket
    socket.on("data", (b) => {
      if (b.length && (b[0] & 0x0f) === 0x8) socket.end(Buffer.from([0x88, 0]));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    /** resolves once `k` requests with barrier/gate `name` are inside the handler */
    arrived: meet.arrived,
    /** lets the requests held at gate `name` (and later ones) answer */
    open: meet.open,
    close: () =>
      new Promise((r) => {
        for (const s of upgraded) s.destroy();
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}
