#!/usr/bin/env node
// Seeds the fuzz corpus from the real inputs the e2e tests send (issue 17).
//
//   node fuzz/seed-from-e2e.mjs [--skip-run] [--cap N] [--seeds N] [--fuzz-dir DIR] [test file ...]
//
// 1. Runs `node --test --test-concurrency=1 tests/e2e/` (or the given test files) from the
//    repository root with FUZZ_CAPTURE_DIR=fuzz/corpus-e2e/raw; tests/e2e/capture.mjs then
//    writes each Cookie header, cookie value, origin answer, update patch, KV record and
//    worker config the tests use, one per file, in the format of its fuzz target.
//    --skip-run reuses raw/ as it is. The log goes to fuzz/logs/e2e-capture.log.
// 2. Builds fuzz/corpus-e2e/<target>/ from it: config-vars JSON becomes config's
//    [var index, length, value] pairs (VAR_NAMES read from src/engine/config.rs, ORIGIN last);
//    Cookie headers and cookie values also get a copy with every value signed by the e2e
//    secret replaced by the 0x01/0x02 tokens (the fuzz signer's ids; a 76-character value
//    that does not verify becomes 0x06), so the selection and verification paths are reached.
// 3. `cargo fuzz cmin` each target's set (libFuzzer -merge=1: smallest inputs first, kept only
//    for new coverage), then keeps at most --cap (default 300) of the smallest. --fuzz-dir is
//    passed to cargo fuzz: the fuzz project (and so the engine source) to build and run, when
//    the work tree's src/ is in the middle of a change (e.g. an export of the last commit).
// 4. Writes up to --seeds (default 20) of them, at most 1 KiB each, distinct in shape (digit
//    runs and ids folded), to seeds/<target>/e2e-<hash> (committed), replacing earlier e2e-*.
// corpus-e2e/ is gitignored. Fuzz with: cargo fuzz run T corpus/T corpus-e2e/T seeds/T
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sign } from "../tests/e2e/harness.mjs";

const FUZZ = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(FUZZ, "..");
const OUT = path.join(FUZZ, "corpus-e2e");
const RAW = path.join(OUT, "raw");
const TARGETS = ["cookie_select", "signed_value", "merge_patch", "record_decode", "config", "origin_answer"];

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const cap = Number(opt("--cap", 300));
const maxSeeds = Number(opt("--seeds", 20));
const fuzzDir = path.resolve(opt("--fuzz-dir", FUZZ));
const skipRun = args.includes("--skip-run");
const files = args.filter((a) => a !== "--skip-run");

const hash = (buf) => createHash("sha256").update(buf).digest("hex").slice(0, 20);
const list = (dir) => {
  try {
    return readdirSync(dir).filter((f) => statSync(path.join(dir, f)).isFile());
  } catch {
    return [];
  }
};
function put(dir, buf) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, hash(buf)), buf);
}

// 1. capture
if (!skipRun) {
  rmSync(RAW, { recursive: true, force: true });
  mkdirSync(RAW, { recursive: true });
  mkdirSync(path.join(FUZZ, "logs"), { recursive: true });
  const log = openSync(path.join(FUZZ, "logs", "e2e-capture.log"), "w");
  const tests = files.length ? files : ["tests/e2e/"];
  console.log(`capturing: node --test --test-concurrency=1 ${tests.join(" ")}`);
  const run = spawnSync("node", ["--test", "--test-concurrency=1", ...tests], {
    cwd: ROOT,
    env: { ...process.env, FUZZ_CAPTURE_DIR: RAW },
    stdio: ["ignore", log, log],
  });
  const tail = readFileSync(path.join(FUZZ, "logs", "e2e-capture.log"), "utf8").split("\n");
  const summary = tail.filter((l) => /^# (tests|pass|fail|cancelled|duration_ms) /.test(l));
  console.log(`e2e exit ${run.status}; ${summary.join(", ")}`);
  // a failing test still sent real inputs: keep going, but say so
}

// 2. per-target sets
// the engine fuzz-dir builds (its parent crate), so the indices match what is fuzzed
const src = readFileSync(path.join(fuzzDir, "..", "src/engine/config.rs"), "utf8");
const block = src.match(/pub const VAR_NAMES: &\[&str\] = &\[([^\]]*)\]/);
if (!block) throw new Error("VAR_NAMES not found in src/engine/config.rs");
const VAR_NAMES = [...block[1].matchAll(/"([A-Z_]+)"/g)].map((m) => m[1]);
const index = (name) => (name === "ORIGIN" ? VAR_NAMES.length : VAR_NAMES.indexOf(name));

function configInput(json) {
  const parts = [];
  for (const [name, value] of Object.entries(JSON.parse(json))) {
    const v = Buffer.from(value, "utf8");
    if (index(name) < 0 || v.length > 255) continue;
    parts.push(Buffer.from([index(name), v.length]), v);
  }
  return Buffer.concat(parts);
}

const SIGNED = /[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}/g;
function tokenized(text) {
  const ids = [];
  return text.replace(SIGNED, (v) => {
    const id = v.slice(0, 32);
    if (sign(id) !== v) return "\x06";
    if (!ids.includes(id)) ids.push(id);
    return ["\x01", "\x02"][ids.indexOf(id)] ?? "\x04";
  });
}

const counts = {};
for (const t of TARGETS) {
  const dir = path.join(OUT, t);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const from = t === "config" ? "config-vars" : t;
  const raw = list(path.join(RAW, from));
  for (const f of raw) {
    const buf = readFileSync(path.join(RAW, from, f));
    if (t === "config") {
      put(dir, configInput(buf.toString("utf8")));
      continue;
    }
    put(dir, buf);
    if (t === "cookie_select" || t === "signed_value") {
      const tok = tokenized(buf.toString("utf8"));
      if (tok !== buf.toString("utf8")) put(dir, Buffer.from(tok, "utf8"));
    }
  }
  counts[t] = { raw: raw.length, set: list(dir).length };
}

// 3. cmin and cap
for (const t of TARGETS) {
  const dir = path.join(OUT, t);
  if (!list(dir).length) continue;
  const run = spawnSync("nice", ["-n", "19", "cargo", "fuzz", "cmin", "--fuzz-dir", fuzzDir, t, dir], {
    cwd: FUZZ,
    env: { ...process.env, RUSTC_BOOTSTRAP: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  });
  if (run.status !== 0) {
    console.error(run.stderr.toString().split("\n").slice(-20).join("\n"));
    throw new Error(`cargo fuzz cmin ${t} failed (exit ${run.status})`);
  }
  const kept = list(dir).map((f) => ({ f, size: statSync(path.join(dir, f)).size }));
  kept.sort((a, b) => a.size - b.size || a.f.localeCompare(b.f));
  for (const { f } of kept.slice(cap)) rmSync(path.join(dir, f));
  counts[t].cmin = kept.length;
  counts[t].corpus = Math.min(kept.length, cap);
}

// 4. committed seeds
const shape = (buf) =>
  buf
    .toString("latin1")
    .replace(/[A-Za-z0-9_-]{32,}/g, "I")
    .replace(/[0-9]+/g, "9");
for (const t of TARGETS) {
  const dir = path.join(OUT, t);
  const seeds = path.join(FUZZ, "seeds", t);
  mkdirSync(seeds, { recursive: true });
  for (const f of list(seeds)) if (f.startsWith("e2e-")) rmSync(path.join(seeds, f));
  const shapes = new Set();
  const picked = [];
  const inputs = list(dir)
    .map((f) => readFileSync(path.join(dir, f)))
    .filter((b) => b.length <= 1024)
    .sort((a, b) => a.length - b.length || Buffer.compare(a, b));
  for (const buf of inputs) {
    if (picked.length >= maxSeeds) break;
    const s = shape(buf);
    if (shapes.has(s)) continue;
    shapes.add(s);
    picked.push(buf);
    writeFileSync(path.join(seeds, "e2e-" + hash(buf).slice(0, 12)), buf);
  }
  counts[t].seeds = picked.length;
}

console.log("target: raw captured / set (with tokenized copies) / after cmin / corpus-e2e / e2e seeds");
for (const t of TARGETS) {
  const c = counts[t];
  console.log(`${t}: ${c.raw} / ${c.set} / ${c.cmin ?? 0} / ${c.corpus ?? 0} / ${c.seeds}`);
}
