/**
 * Serves the dashboard: the files build.ts bundled from web/ (stored gzipped
 * as web-<name>.gz), embedded in the compiled binary (Bun.embeddedFiles) or
 * read from web/dist when run from source. The dashboard's own paths (deep
 * links such as /projects/:id/logs) get index.html; the app routes them in
 * the browser. Clients that don't accept gzip get the inflated bytes.
 */
import { Elysia } from "elysia";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, extname, basename } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/** Paths the single-page app routes (see web/main.tsx). */
export const DEEP_LINKS = ["/signin", "/invite", "/projects", "/projects/*", "/workers", "/workers/*", "/alerts", "/usage", "/users", "/audit", "/account"];

type Asset = { gz: Uint8Array<ArrayBuffer>; raw: Uint8Array<ArrayBuffer> | null; type: string };

async function loadAssets(): Promise<Map<string, Asset>> {
  const found = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const f of Bun.embeddedFiles) {
    const name = basename((f as Blob & { name: string }).name);
    if (name.startsWith("web-") && name.endsWith(".gz")) found.set(name, new Uint8Array(await f.arrayBuffer()));
  }
  if (found.size === 0) {
    const dir = join(import.meta.dir, "../../web/dist");
    if (existsSync(dir)) for (const name of readdirSync(dir)) if (name.startsWith("web-") && name.endsWith(".gz")) found.set(name, new Uint8Array(readFileSync(join(dir, name))));
  }
  const assets = new Map<string, Asset>();
  for (const [file, gz] of found) {
    const name = file.slice("web-".length, -".gz".length);
    assets.set(name, { gz, raw: null, type: TYPES[extname(name)] ?? "application/octet-stream" });
  }
  return assets;
}

export function webPlugin() {
  let assets = new Map<string, Asset>();
  const loaded = loadAssets().then((a) => (assets = a));
  const serve = async (name: string, request: Request) => {
    await loaded;
    const a = assets.get(name);
    if (!a) return null;
    const gzip = /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "");
    const body = gzip ? a.gz : (a.raw ??= Bun.gunzipSync(a.gz));
    const headers: Record<string, string> = {
      "content-type": a.type,
      "cache-control": name === "index.html" ? "no-cache" : "public, max-age=300",
      vary: "accept-encoding",
    };
    if (gzip) headers["content-encoding"] = "gzip";
    return new Response(body, { headers });
  };
  const index = async ({ request }: { request: Request }) =>
    (await serve("index.html", request)) ??
    new Response("The dashboard was not built: run `bun run build`.\n", { status: 503, headers: { "content-type": "text/plain" } });
  const app = new Elysia().get("/", index, { detail: { hide: true } }).get(
    "/assets/:file",
    async ({ params, request }) => (await serve(params.file, request)) ?? new Response("not found\n", { status: 404, headers: { "content-type": "text/plain" } }),
    { detail: { hide: true } },
  );
  for (const p of DEEP_LINKS) app.get(p, index, { detail: { hide: true } });
  return app;
}
