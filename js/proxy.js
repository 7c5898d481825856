// The proxy worker: sessions for any origin, handed over in signed request headers. This file
// moves bytes (the request to the origin, the answer back, the WebSocket of an upgrade); the
// engine decides everything: which cookie counts, which headers go on, what the origin's
// session headers mean, what is saved and what Set-Cookie the client gets.
import { engine, call, settle, isTrapped, transport, sweepStore, perEnv, errorResponse, KV_BINDING } from "./engine.js";
export { SessionLock } from "./lock.js";

/** The proxy's settings, parsed once per env (per isolate) and engine instance. */
const proxyFor = (env) => perEnv(env, "proxy", (instance) => new instance.ProxyCore(env, transport(env)));

/** The opaque response for an error: an engine error's own, else a 500. */
const failure = (err) =>
  errorResponse(err) ?? new Response("internal error", { status: 500, headers: { "cache-control": "no-store" } });

/**
 * Headers as the engine's header block: each name and value ends in a newline (a Fetch header
 * never holds one). A string crosses into the engine in one copy and needs no JSON either side
 * (in workerd, `forEach` with a string is about twice as fast as JSON.stringify of the pairs).
 */
function headerBlock(headers) {
  let block = "";
  headers.forEach((value, name) => {
    block += name + "\n" + value + "\n";
  });
  return block;
}

/**
 * Applies the engine's header edits in `fields` (from index `from`: the count of names to
 * delete, the names, then name and value of each header to append) to `headers`.
 */
function edit(headers, fields, from) {
  const end = from + 1 + Number(fields[from]);
  for (let i = from + 1; i < end; i++) headers.delete(fields[i]);
  for (let i = end; i + 1 < fields.length; i += 2) headers.append(fields[i], fields[i + 1]);
  return headers;
}

async function proxy(request, env, ctx) {
  let instance, core, pathHeader, scope;
  try {
    ({ instance, core, pathHeader } = call(engine(), () => proxyFor(env)));
    const url = new URL(request.url);
    scope = call(instance, () =>
      core.start(
        request.headers.get("cookie") ?? "",
        url.pathname,
        pathHeader === undefined ? undefined : request.headers.get(pathHeader) ?? undefined
      )
    );
    const forwarding = call(instance, () =>
      core.forward(scope, request.method, url.pathname, url.search, url.hostname, headerBlock(request.headers))
    );
    // the origin's URL, then the edits that make the client's headers the origin's
    const out = (await settle(instance, forwarding)).split("\n");
    let answer;
    try {
      answer = await fetch(out[0], {
        method: request.method,
        headers: edit(new Headers(request.headers), out, 1),
        body: request.method === "GET" || request.method === "HEAD" ? undefined : request.body,
        redirect: "manual",
      });
    } catch (err) {
      throw call(instance, () => instance.originFailed(String(err?.message ?? err)));
    }
    const socket = answer.webSocket ?? null;
    const block = await settle(
      instance,
      call(instance, () => core.respond(scope, answer.status, socket !== null, headerBlock(answer.headers), ctx))
    );
    // the origin's status, headers and WebSocket, copied by the runtime, then edited
    const response = new Response(answer.body, answer);
    edit(response.headers, block.split("\n"), 0);
    return response;
  } catch (err) {
    // releases a held lock, saving nothing (a trapped instance is left alone: its lease runs out)
    if (scope && !isTrapped(instance)) {
      const abandoning = scope;
      scope = undefined; // freed when the release is done, not below
      ctx.waitUntil(settle(instance, abandoning.abandon()).catch(() => {}).finally(() => free(instance, abandoning)));
    }
    return failure(err);
  } finally {
    if (scope) free(instance, scope);
  }
}

/**
 * Frees a request's engine scope as soon as the request is done with it, rather than leaving
 * its wasm memory to the garbage collector's finalizers.
 */
function free(instance, scope) {
  if (!isTrapped(instance)) scope.free();
}

/**
 * The proxy worker: `fetch` for every request, `scheduled` for the expiry sweep. A plain
 * object rather than a WorkerEntrypoint class: a class is constructed on every request, which
 * measurably costs CPU (bench/proxy-breakdown.mjs).
 */
export default {
  fetch(request, env, ctx) {
    return proxy(request, env, ctx);
  },

  async scheduled(controller, env) {
    const { instance, core } = call(engine(), () => proxyFor(env));
    await settle(instance, call(instance, () => core.sweep(sweepStore(env[KV_BINDING]))));
  },
};
