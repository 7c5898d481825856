// The npm package as a user gets it: `npm pack` of js/, installed from the tarball into a
// fresh worker project (no Rust toolchain involved), bundled by wrangler as for a deploy, and
// run on workerd with real KV and Durable Objects.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { root, startModule, sessionCookie } from "./harness.mjs";

// inside the repository (git-ignored): workerd wants modules below its working directory
const project = path.join(root, "tests/e2e/.package-project");
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: "pipe", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } }).toString();

describe("npm package installed from its tarball", () => {
  let w;
  before(async () => {
    rmSync(project, { recursive: true, force: true });
    mkdirSync(path.join(project, "src"), { recursive: true });
    const tarball = run("npm", ["pack", "--silent", "--pack-destination", project], path.join(root, "js")).trim().split("\n").at(-1);
    writeFileSync(
      path.join(project, "package.json"),
      JSON.stringify({ name: "user-worker", private: true, type: "module", dependencies: { "edge-sessions": `file:./${tarball}` } })
    );
    run("npm", ["install", "--offline", "--no-audit", "--no-fund"], project);
    writeFileSync(
      path.join(project, "src/index.js"),
      `import { Sessions, SessionLock } from "edge-sessions";
export { SessionLock };
export default {
  fetch(request, env, ctx) {
    return new Sessions(env).withSession(request, ctx, async (session) => {
      const count = (session.get("count") ?? 0) + 1;
      session.set("count", count);
      return Response.json({ count });
    });
  },
};
`
    );
    writeFileSync(
      path.join(project, "wrangler.toml"),
      `name = "user-worker"
main = "src/index.js"
compatibility_date = "2025-11-01"
[[kv_namespaces]]
binding = "SESSIONS"
id = "00000000000000000000000000000000"
[durable_objects]
bindings = [{ name = "SESSION_LOCKS", class_name = "SessionLock" }]
[[migrations]]
tag = "v1"
new_sqlite_classes = ["SessionLock"]
`
    );
    run(path.join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", "dist"], project);
    w = await startModule(path.relative(root, path.join(project, "dist/index.js")));
  });
  after(async () => {
    await w?.dispose();
    rmSync(project, { recursive: true, force: true });
  });

  test("the tarball carries the wasm, the glue and the types", () => {
    const files = readdirSync(path.join(project, "node_modules/edge-sessions"), { recursive: true }).map(String);
    for (const f of ["index.js", "index.d.ts", "handoff.js", "handoff.d.ts", "engine.js", "lock.js", "proxy.js", "dist/engine.js", "dist/engine.wasm"]) {
      assert.ok(files.includes(f), `${f} in ${files.join(", ")}`);
    }
  });

  test("the tarball's wasm names no directory of the machine that built it", () => {
    // panic locations carry source paths: the dependencies' would name the builder's home
    // and registry cache (scripts/build.sh remaps them)
    const wasm = readFileSync(path.join(project, "node_modules/edge-sessions/dist/engine.wasm")).toString("latin1");
    const cargoHome = process.env.CARGO_HOME ?? path.join(os.homedir(), ".cargo");
    // a home of "/" (some containers) would match every path: only real directories count
    for (const dir of [cargoHome, os.homedir(), root].filter((d) => d.length > 1)) {
      assert.ok(!wasm.includes(dir), `engine.wasm contains ${dir}`);
    }
    assert.ok(!/registry[\\/]src/.test(wasm), "engine.wasm names a registry cache");
  });

  test("the installed package serves sessions on workerd", async () => {
    const first = await w.fetch("/");
    assert.deepEqual(await first.json(), { count: 1 });
    const c = sessionCookie(first);
    assert.ok(c);
    const second = await w.fetch("/", { headers: { cookie: `__Host-session=${c.value}` } });
    assert.deepEqual(await second.json(), { count: 2 });
  });

  test("edge-sessions/handoff resolves from Node without wasm", async () => {
    const out = run("node", ["--input-type=module", "-e", `import { verifyHandoff } from "edge-sessions/handoff"; console.log(typeof verifyHandoff);`], project);
    assert.equal(out.trim(), "function");
  });
});
