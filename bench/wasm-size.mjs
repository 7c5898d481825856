// Where the engine's wasm bytes go: twiggy's per-function sizes grouped by crate (and, for our
// own crate, by module), largest first, with the top functions.
//
// Needs twiggy (`cargo install twiggy`; not part of setup.sh, only this script uses it) and a
// build that keeps function names:
//   PROFILE=1 FORCE=1 scripts/build.sh && node bench/wasm-size.mjs [wasm=js/dist/engine.wasm] [top=15]
// (then FORCE=1 scripts/build.sh for the release build). The names section itself is left out
// of the totals: a release build strips it.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const file = process.argv[2] ?? "js/dist/engine.wasm";
const TOP = Number(process.argv[3] ?? 15);
let csv;
try {
  csv = execFileSync("twiggy", ["top", "-n", "1000000", "-f", "csv", file], { maxBuffer: 1 << 28 }).toString();
} catch (e) {
  console.error(`twiggy failed (${e.message.split("\n")[0]}): install it with cargo install twiggy`);
  process.exit(1);
}

/** The crate (or edge_sessions::<module>) an item belongs to. */
function group(name) {
  if (name.startsWith("data segment")) return "(data segments: string constants, tables)";
  if (/shim|^__wbg|wbindgen|^import |^export |^type\[|^table\[|^elem\[|^code\[/.test(name)) return "(wasm-bindgen glue, imports, exports, tables)";
  const n = name.replace(/^(<|&|mut |dyn )+/, "");
  const ours = n.match(/^edge_sessions::(?:engine::)?((?:js::|platform::)?[a-z_]+)/);
  if (ours) return `edge_sessions::${ours[1]}`;
  if (/^(f64|f32|u\d+|i\d+|usize|isize|char|str|bool|T|\[)/.test(n)) return "core (impls on primitives: fmt, parse)";
  return (n.match(/^([A-Za-z_][A-Za-z0-9_]*)/)?.[1] ?? n.slice(0, 30)).replace(/\[[0-9a-f]+\]$/, "");
}

const rows = [];
for (const line of csv.trim().split("\n").slice(1)) {
  const m = line.match(/^("(?:[^"]|"")*"|[^,]*),(\d+),/);
  if (!m) continue;
  const name = m[1].replace(/^"|"$/g, "").replace(/""/g, '"');
  if (/names" subsection|^Σ|^\.\.\. and/.test(name)) continue;
  rows.push({ name, bytes: Number(m[2]) });
}
const total = rows.reduce((s, r) => s + r.bytes, 0);
const groups = new Map();
for (const r of rows) groups.set(group(r.name), (groups.get(group(r.name)) ?? 0) + r.bytes);

const bytes = readFileSync(file);
console.log(`${file}: ${bytes.length} bytes with names, ${gzipSync(bytes, { level: 9 }).length} gzipped; ${total} bytes of code and data without the names section`);
console.log("\nby crate (edge_sessions by module):");
for (const [g, b] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
  console.log(`${String(b).padStart(8)} ${((100 * b) / total).toFixed(1).padStart(5)} %  ${g}`);
}
console.log("\nlargest functions:");
for (const r of rows.sort((a, b) => b.bytes - a.bytes).slice(0, TOP)) {
  console.log(`${String(r.bytes).padStart(8)} ${((100 * r.bytes) / total).toFixed(1).padStart(5)} %  ${r.name.replace(/::h[0-9a-f]{16}$/, "").slice(0, 110)}`);
}
