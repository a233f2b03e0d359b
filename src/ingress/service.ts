/**
 * The built-in ingress: an HTTP server on WH_INGRESS_LISTEN that proxies
 * <project>.<WH_APPS_DOMAIN> to the project's running container, WebSockets
 * included. The route table is reloaded whenever routing may have changed.
 */
import type { Server, ServerWebSocket } from "bun";
import type { AppContext } from "../context";
import { splitHostPort } from "../config";
import { coalesced } from "../util/coalesce";
import { forwardHeaders, HOP_BY_HOP, projectFromHost, type Upstream } from "./routes";

type WsData = { target: string; headers: Headers; upstream?: WebSocket; pending: (string | Uint8Array)[] };

const page = (status: number, title: string, text: string) =>
  new Response(`<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${text}</p>\n`, {
    status,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  });

export function startIngress(ctx: AppContext) {
  let routes = new Map<string, Upstream>();

  /** Reloads the table; a reload asked for during one runs again right after it. */
  const reload = coalesced(async () => {
    const rows = await ctx.sql<{ name: string; address: string; host_port: number }[]>`
      SELECT p.name, w.address, d.host_port
      FROM projects p
      JOIN deployments d ON d.id = p.current_deployment_id
      JOIN workers w ON w.id = d.worker_id
      WHERE d.status = 'running' AND d.host_port IS NOT NULL`;
    routes = new Map(rows.map((r) => [r.name, { address: r.address, port: r.host_port }]));
  }, "ingress");

  const off = ctx.events.on("routes", () => reload());
  const timer = setInterval(() => void reload(), 5000);
  const { hostname, port } = splitHostPort(ctx.config.WH_INGRESS_LISTEN);

  const server: Server<WsData> = Bun.serve<WsData>({
    hostname,
    port,
    idleTimeout: 120,
    async fetch(req, srv) {
      const name = projectFromHost(req.headers.get("host"), ctx.config.WH_APPS_DOMAIN);
      const up = name ? routes.get(name) : undefined;
      if (!up) return page(404, "Not found", "No app is served at this address.");
      const url = new URL(req.url);
      const clientIp = srv.requestIP(req)?.address ?? "unknown";
      const headers = forwardHeaders(req.headers, clientIp, "http");
      if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
        const target = `ws://${up.address}:${up.port}${url.pathname}${url.search}`;
        if (srv.upgrade(req, { data: { target, headers, pending: [] } })) return undefined;
        return page(400, "Bad request", "WebSocket upgrade failed.");
      }
      try {
        const res = await fetch(`http://${up.address}:${up.port}${url.pathname}${url.search}`, {
          method: req.method,
          headers,
          body: req.method === "GET" || req.method === "HEAD" ? undefined : req.body,
          redirect: "manual",
          decompress: false,
        } as RequestInit);
        const out = new Headers();
        res.headers.forEach((v, k) => {
          if (!HOP_BY_HOP.has(k)) out.append(k, v);
        });
        return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out });
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
    routes: () => routes,
    stop() {
      off();
      clearInterval(timer);
      server.stop(true);
    },
  };
}
