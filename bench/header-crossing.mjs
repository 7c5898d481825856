// What one header crossing costs in workerd, JS side only: a header list written as JSON or as
// the header block (src/engine/proxy/block.rs), and read back as Headers from pairs or as a copy
// with edits. Wall time per operation of a CPU-bound loop inside one request (workerd freezes
// its clocks during execution, so the loop is timed from outside), rounds 1-2 after a warm-up.
// Usage: node bench/header-crossing.mjs
import { serve } from "./lib.mjs";
const script = `
const H = new Headers({"accept":"text/html,application/xhtml+xml","accept-encoding":"gzip, br","accept-language":"en-US,en;q=0.9","cookie":"__Host-session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB; other=1","host":"example.com","user-agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36","x-forwarded-for":"1.2.3.4","cf-ray":"abc"});
const block = "2\\ncookie\\nhost\\ncookie\\nother=1\\nx-forwarded-host\\nexample.com\\nx-session-id\\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\\nx-session-signature\\nt=1700000000,v1=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\\nx-session-data\\n" + "e".repeat(1300) + "\\n";
const json = JSON.stringify([...H]);
const V = {
  json: () => JSON.stringify([...H]),
  concat: () => { let s = ""; for (const [k, v] of H) s += k + "\\n" + v + "\\n"; return s; },
  concatEntries: () => { let s = ""; for (const e of H.entries()) s += e[0] + "\\n" + e[1] + "\\n"; return s; },
  forEach: () => { let s = ""; H.forEach((v, k) => { s += k + "\\n" + v + "\\n"; }); return s; },
  pairsInit: () => new Headers(JSON.parse(json)),
  editCopy: () => { const f = block.split("\\n"); const h = new Headers(H); const end = 1 + Number(f[0]); for (let i = 1; i < end; i++) h.delete(f[i]); for (let i = end; i + 1 < f.length; i += 2) h.append(f[i], f[i+1]); return h; },
  pairsBuild: () => { const f = block.split("\\n"); const o = []; for (let i = 3; i + 1 < f.length; i += 2) o.push([f[i], f[i+1]]); return new Headers(o); },
  none: () => 0,
};
export default { fetch(req) { const u = new URL(req.url); const f = V[u.searchParams.get("v")]; const n = Number(u.searchParams.get("n")); let x; for (let i = 0; i < n; i++) x = f(); return new Response(String(x).length + ""); } };`;
import fs from "node:fs"; fs.writeFileSync("bench/.header-crossing.worker.mjs", script);
const { mf, url } = await serve({ modules: true, scriptPath: "bench/.header-crossing.worker.mjs", compatibilityDate: "2025-04-01" });
const N = 20000;
for (const round of [0, 1, 2]) for (const v of ["none", "json", "concat", "concatEntries", "forEach", "pairsInit", "editCopy", "pairsBuild"]) {
  const w0 = process.hrtime.bigint();
  await (await fetch(`${url}/?v=${v}&n=${N}`)).text();
  const w = Number(process.hrtime.bigint() - w0) / 1e3 / N;
  if (round) console.log(round, v, w.toFixed(2), "µs wall per op");
}
await mf.dispose();
fs.rmSync("bench/.header-crossing.worker.mjs");
