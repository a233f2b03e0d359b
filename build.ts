/**
 * bun run build: bundles the dashboard, then compiles the two self-contained
 * executables: dist/wisehosting (control plane with the dashboard, SQL
 * migrations and PGlite embedded) and dist/wisehosting-agent.
 */
import { mkdirSync, rmSync, copyFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = import.meta.dir;
const webOut = join(root, "web/dist");

async function run(argv: string[]) {
  const p = Bun.spawn(argv, { cwd: root, stdout: "inherit", stderr: "inherit" });
  if ((await p.exited) !== 0) throw new Error(`failed: ${argv.join(" ")}`);
}

/** The dashboard: one minified JS bundle, its CSS and index.html, named web-* for embedding. */
export async function buildWeb() {
  rmSync(webOut, { recursive: true, force: true });
  mkdirSync(webOut, { recursive: true });
  const r = await Bun.build({
    entrypoints: [join(root, "web/main.tsx")],
    outdir: webOut,
    minify: true,
    target: "browser",
    naming: "web-[name].[ext]",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  if (!r.success) throw new AggregateError(r.logs, "web build failed");
  copyFileSync(join(root, "web/styles/main.css"), join(webOut, "web-main.css"));
  copyFileSync(join(root, "web/index.html"), join(webOut, "web-index.txt"));
}

export async function buildBinaries() {
  mkdirSync(join(root, "dist"), { recursive: true });
  const assets = readdirSync(webOut).map((f) => `web/dist/${f}`);
  // Elysia reads handler parameter names to decide what to parse (its "sucrose"
  // analysis), so the control plane keeps its identifiers: no --minify-identifiers.
  await run(["bun", "build", "--compile", "--sourcemap=none", "--asset-naming=[name].[ext]", "src/main.ts", ...assets, "--outfile", "dist/wisehosting"]);
  await run(["bun", "build", "--compile", "--minify", "--sourcemap=none", "agent/main.ts", "--outfile", "dist/wisehosting-agent"]);
}

if (import.meta.main) {
  const t = performance.now();
  await buildWeb();
  await buildBinaries();
  console.log(`built dist/wisehosting and dist/wisehosting-agent in ${Math.round(performance.now() - t)} ms`);
}
