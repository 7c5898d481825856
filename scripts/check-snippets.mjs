// Extracts the README's TypeScript and JavaScript examples into tests/types/.snippets/ so tsc
// type-checks them against js/index.d.ts (scripts/test.sh runs this, then tsc).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "tests/types/.snippets");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const readme = readFileSync(path.join(root, "README.md"), "utf8");
const blocks = [...readme.matchAll(/```(ts|js)\n([\s\S]*?)```/g)];
blocks.forEach(([, , code], i) => {
  // each snippet is its own module; JS snippets are checked as TS too
  writeFileSync(path.join(out, `readme-${i + 1}.ts`), `// README.md snippet ${i + 1}\n${code}\nexport {};\n`);
});
// The workers-rs example (wasm only) is compiled by the tests/readme-rust crate; the native Rust
// examples run as doctests (src/lib.rs includes README.md under cfg(doctest)).
const worker = [...readme.matchAll(/```rust(?:,ignore)?\n([\s\S]*?)```/g)].map((m) => m[1]).filter((c) => c.includes("#[event("));
if (worker.length !== 1) throw new Error(`expected one workers-rs example in README.md, found ${worker.length}`);
writeFileSync(path.join(out, "readme_worker.rs"), worker[0]);
console.log(`snippets: ${blocks.length} README examples written for tsc, 1 for the wasm build`);
