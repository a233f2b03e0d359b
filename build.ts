/**
 * bun run build: bundles the dashboard, then compiles the two self-contained
 * executables: dist/wisehosting (control plane with the dashboard, SQL
 * migrations and PGlite embedded) and dist/wisehosting-agent.
 */
import { mkdirSync, rmSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = import.meta.dir;
const webOut = join(root, "web/dist");

async function run(argv: string[]) {
  const p = Bun.spawn(argv, { cwd: root, stdout: "inherit", stderr: "inherit" });
  if ((await p.exited) !== 0) throw new Error(`failed: ${argv.join(" ")}`);
}

/**
 * The dashboard: one minified JS bundle (web/main.tsx and what it imports),
 * its CSS, icon and index.html, each stored gzipped as web-<name>.gz. The
 * .gz names matter: `bun build --compile` embeds a file of an extension it
 * has no loader for as-is, but would bundle a .js or .html and import a .txt
 * as a module. src/web/index.ts serves them (gzip, or inflated for clients
 * that don't take it). Returns the JS size, raw and gzipped (budget: 120 KB gzipped).
 */
export async function buildWeb(): Promise<{ js: number; jsGzip: number }> {
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
  const js = await Bun.file(join(webOut, "web-main.js")).bytes();
  const files: [string, Uint8Array<ArrayBuffer>][] = [
    ["web-main.js", js],
    ["web-main.css", await Bun.file(join(root, "web/styles/main.css")).bytes()],
    ["web-icon.svg", await Bun.file(join(root, "web/icon.svg")).bytes()],
    ["web-index.html", await Bun.file(join(root, "web/index.html")).bytes()],
  ];
  rmSync(join(webOut, "web-main.js"));
  let jsGzip = 0;
  for (const [name, bytes] of files) {
    const gz = Bun.gzipSync(bytes, { level: 9 });
    if (name === "web-main.js") jsGzip = gz.byteLength;
    await Bun.write(join(webOut, `${name}.gz`), gz);
  }
  return { js: js.byteLength, jsGzip };
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
