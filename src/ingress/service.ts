/**
 * The built-in ingress: an HTTP server on WH_INGRESS_LISTEN that proxies
 * <project>.<WH_APPS_DOMAIN> and the project's verified custom domains to its
 * running container, WebSockets included. The route table (shared with the
 * Caddy edge, see table.ts) is reloaded whenever routing may have changed.
 */
import type { Server, ServerWebSocket } from "bun";
import type { AppContext } from "../context";
import { splitHostPort } from "../config";
import { coalesced } from "../util/coalesce";
import { buildTable, forwardHeaders, HOP_BY_HOP, lookupRoute, type RouteEntry, type RouteTable } from "./routes";
import { loadRoutes } from "./table";

type WsData = { target: string; headers: Headers; upstream?: WebSocket; pending: (string | Uint8Array)[] };

const page = (status: number, title: string, text: string) =>
  new Response(`<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${text}</p>\n`, {
    status,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  });

/** Path and query of an absolute request URL, without parsing all of it (the hot path). */
function pathOf(url: string): string {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash === -1 ? "/" : url.slice(slash);
}

export function startIngress(ctx: AppContext) {
  let entries: RouteEntry[] = [];
  let table: RouteTable = buildTable([]);

  /** Reloads the table; a reload asked for during one runs again right after it. */
  const reload = coalesced(async () => {
    entries = await loadRoutes(ctx.sql, ctx.config.WH_APPS_DOMAIN);
    table = buildTable(entries);
  }, "ingress");

  const off = ctx.events.on("routes", () => reload());
  const timer = setInterval(() => void reload(), 5000);
  const { hostname, port } = splitHostPort(ctx.config.WH_INGRESS_LISTEN);

  const server: Server<WsData> = Bun.serve<WsData>({
    hostname,
    port,
    idleTimeout: 120,
    async fetch(req, srv) {
      const up = lookupRoute(table, req.headers.get("host"));
      if (!up) return page(404, "Not found", "No app is served at this address.");
      const target = pathOf(req.url);
      const authority = up.address.includes(":") ? `[${up.address}]:${up.port}` : `${up.address}:${up.port}`;
      const clientIp = srv.requestIP(req)?.address ?? "unknown";
      const headers = forwardHeaders(req.headers, clientIp, "http");
      if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
        if (srv.upgrade(req, { data: { target: `ws://${authority}${target}`, headers, pending: [] } })) return undefined;
        return page(400, "Bad request", "WebSocket upgrade failed.");
      }
      try {
        const res = await fetch(`http://${authority}${target}`, {
          method: req.method,
          headers,
          body: req.method === "GET" || req.method === "HEAD" ? undefined : req.body,
          redirect: "manual",
          decompress: false,
        } as RequestInit);
        // The upstream response goes out as it is, less the headers that describe only its own hop.
        const named = res.headers.get("connection");
        if (named) for (const h of named.split(",")) res.headers.delete(h.trim());
        for (const h of HOP_BY_HOP) if (res.headers.has(h)) res.headers.delete(h);
        return res;
      } catch {
        return page(502, "Bad gateway", "The app did not answer.");
      }
    },
    websocket: {
      open(ws: ServerWebSocket<WsData>) {
        const d = ws.data;
        const protocols = d.headers.get("sec-websocket-protocol")?.split(",").map((s) => s.trim());
        const upstream = new WebSocket(d.target, protocols && protocols.length ? protocols : undefined);
        upstream.binaryType = "arraybuffer";
        d.upstream = upstream;
        upstream.onopen = () => {
          for (const m of d.pending) upstream.send(m as string);
          d.pending = [];
        };
        upstream.onmessage = (e) => ws.send(typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer));
        upstream.onclose = (e) => ws.close(e.code === 1005 || e.code === 1006 ? 1000 : e.code, e.reason);
        upstream.onerror = () => ws.close(1011, "upstream error");
      },
      message(ws: ServerWebSocket<WsData>, msg) {
        const up = ws.data.upstream;
        if (up && up.readyState === WebSocket.OPEN) up.send(msg as string);
        else ws.data.pending.push(typeof msg === "string" ? msg : new Uint8Array(msg));
      },
      close(ws: ServerWebSocket<WsData>) {
        ws.data.upstream?.close();
      },
    },
  });

  return {
    server,
    reload,
    /** The hostnames served now, with their upstreams. */
    routes: () => entries,
    stop() {
      off();
      clearInterval(timer);
      server.stop(true);
    },
  };
}
