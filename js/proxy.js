// The proxy worker: sessions for any origin, handed over in signed request headers. This file
// moves bytes (the request to the origin, the answer back, the WebSocket of an upgrade); the
// engine decides everything: which cookie counts, which headers go on, what the origin's
// session headers mean, what is saved and what Set-Cookie the client gets.
import { WorkerEntrypoint } from "cloudflare:workers";
import { engine, isTrap, renew, transport, sweepStore } from "./engine.js";
export { SessionLock } from "./lock.js";

/** The proxy's settings, parsed once per env (per isolate) and engine instance. */
const proxies = new WeakMap();
function proxyFor(env) {
  const instance = engine();
  let entry = proxies.get(env);
  if (!entry || entry.instance !== instance) {
    entry = { instance, core: new instance.ProxyCore(env, transport(env)) };
    proxies.set(env, entry);
  }
  return entry;
}

/** The opaque response for an engine error (status and fixed body; details were logged). */
function errorResponse(err) {
  if (err && typeof err.status === "number" && typeof err.publicMessage === "string") {
    return new Response(err.publicMessage, { status: err.status, headers: { "cache-control": "no-store" } });
  }
  return new Response("internal error", { status: 500, headers: { "cache-control": "no-store" } });
}

const headerList = (headers) => JSON.stringify([...headers]);

async function proxy(request, env, ctx) {
  let entry;
  try {
    entry = proxyFor(env);
  } catch (err) {
    if (isTrap(err)) renew(engine());
    return errorResponse(err);
  }
  const { instance, core } = entry;
  let scope;
  try {
    const url = new URL(request.url);
    const pathHeader = core.pathHeader;
    scope = core.start(
      request.headers.get("cookie") ?? "",
      url.pathname,
      pathHeader === undefined ? undefined : request.headers.get(pathHeader) ?? undefined
    );
    const out = JSON.parse(
      await core.forward(scope, request.method, url.pathname, url.search, url.hostname, headerList(request.headers))
    );
    let answer;
    try {
      answer = await fetch(out.url, {
        method: request.method,
        headers: out.headers,
        body: request.method === "GET" || request.method === "HEAD" ? undefined : request.body,
        redirect: "manual",
      });
    } catch (err) {
      throw instance.originFailed(String(err?.message ?? err));
    }
    const socket = answer.webSocket ?? null;
    const headers = JSON.parse(core.takeOrigin(scope, answer.status, socket !== null, headerList(answer.headers)));
    const setCookie = await core.finish(scope, ctx);
    const response =
      answer.status === 101
        ? new Response(null, { status: 101, webSocket: socket, headers })
        : new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers });
    if (setCookie !== null) {
      response.headers.append("set-cookie", setCookie);
      response.headers.set("cache-control", "private, no-store");
    }
    return response;
  } catch (err) {
    if (scope) ctx.waitUntil(scope.abandon()); // releases a held lock; nothing is saved
    if (isTrap(err)) {
      renew(instance);
      return errorResponse(null);
    }
    return errorResponse(err);
  }
}

/** The proxy worker: `fetch` for every request, `scheduled` for the expiry sweep. */
export default class SessionProxy extends WorkerEntrypoint {
  fetch(request) {
    return proxy(request, this.env, this.ctx);
  }

  async scheduled() {
    const { core } = proxyFor(this.env);
    await core.sweep(sweepStore(this.env.SESSIONS));
  }
}
