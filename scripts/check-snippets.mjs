// Extracts the TypeScript and JavaScript examples of README.md and docs/*.md into
// tests/types/.snippets/ so tsc type-checks them against js/index.d.ts (scripts/test.sh runs
// this, then tsc), and the one workers-rs example for the wasm build.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "tests/types/.snippets");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// README.md first, then docs/*.md in name order; each snippet file is named after its document
// (readme-1.ts, docs-protocol-1.ts, ...), so names stay unique and say where a failure is.
const docs = readdirSync(path.join(root, "docs"))
  .filter((f) => f.endsWith(".md"))
  .sort()
  .map((f) => ({ file: `docs/${f}`, stem: `docs-${f.slice(0, -3)}` }));
const sources = [{ file: "README.md", stem: "readme" }, ...docs];

// A native Rust example only runs if src/lib.rs includes its document as a doctest.
const doctested = new Set(
  [...readFileSync(path.join(root, "src/lib.rs"), "utf8").matchAll(/include_str!\("\.\.\/([^"]+\.md)"\)/g)].map((m) => m[1])
);

let written = 0;
const workers = [];
for (const { file, stem } of sources) {
  const text = readFileSync(path.join(root, file), "utf8");
  if (/```rust\n/.test(text) && !doctested.has(file)) {
    throw new Error(`${file} has a native Rust example but src/lib.rs does not include it as a doctest`);
  }
  const blocks = [...text.matchAll(/```(ts|js)\n([\s\S]*?)```/g)];
  blocks.forEach(([, , code], i) => {
    // each snippet is its own module; JS snippets are checked as TS too
    writeFileSync(path.join(out, `${stem}-${i + 1}.ts`), `// ${file} snippet ${i + 1}\n${code}\nexport {};\n`);
  });
  written += blocks.length;
  // The workers-rs example (wasm only) is compiled by the tests/readme-rust crate; the native
  // Rust examples run as doctests (src/lib.rs includes README.md and the docs that have them
  // under cfg(doctest)).
  for (const [, code] of text.matchAll(/```rust(?:,ignore)?\n([\s\S]*?)```/g)) {
    if (code.includes("#[event(")) workers.push({ file, code });
  }
}
if (workers.length !== 1) {
  const where = workers.map((w) => w.file).join(", ") || "none";
  throw new Error(`expected one workers-rs example in README.md and docs/*.md, found ${workers.length} (${where})`);
}
writeFileSync(path.join(out, "readme_worker.rs"), workers[0].code);
console.log(
  `snippets: ${written} examples from ${sources.length} documents written for tsc, 1 for the wasm build (${workers[0].file})`
);
