/**
 * Serves the dashboard: the files build.ts bundled from web/, embedded in the
 * compiled binary (Bun.embeddedFiles) or read from web/dist when run from
 * source. Any non-API path that isn't a file gets index.html (deep links).
 */
import { Elysia } from "elysia";
import { existsSync, readdirSync } from "node:fs";
import { join, extname } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
};

function loadAssets(): Map<string, Blob> {
  const assets = new Map<string, Blob>();
  for (const f of Bun.embeddedFiles) {
    const name = (f as Blob & { name: string }).name;
    if (name.startsWith("web-")) assets.set(name.slice("web-".length).replace(/^index\.txt$/, "index.html"), f);
  }
  if (assets.size === 0) {
    const dir = join(import.meta.dir, "../../web/dist");
    if (existsSync(dir)) for (const name of readdirSync(dir)) assets.set(name.replace(/^web-/, "").replace(/^index\.txt$/, "index.html"), Bun.file(join(dir, name)));
  }
  return assets;
}

export function webPlugin() {
  const assets = loadAssets();
  const serve = (name: string) => {
    const blob = assets.get(name);
    if (!blob) return null;
    return new Response(blob, {
      headers: {
        "content-type": TYPES[extname(name)] ?? "application/octet-stream",
        "cache-control": name === "index.html" ? "no-cache" : "public, max-age=300",
      },
    });
  };
  const index = () =>
    serve("index.html") ??
    new Response("The dashboard was not built: run `bun run build`.\n", { status: 503, headers: { "content-type": "text/plain" } });
  return new Elysia()
    .get("/", index, { detail: { hide: true } })
    .get(
      "/assets/:file",
      ({ params }) => serve(params.file) ?? new Response("not found\n", { status: 404, headers: { "content-type": "text/plain" } }),
      { detail: { hide: true } },
    )
    .get("/projects/*", index, { detail: { hide: true } })
    .get("/workers", index, { detail: { hide: true } });
}
