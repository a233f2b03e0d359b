/**
 * The production edge: with WH_CADDY_ADMIN_URL set, the control plane keeps
 * Caddy's routes equal to the route table (ingress/table.ts) through Caddy's
 * admin API — on start, on every "routes" event (the event waits for it, so a
 * replaced deployment drains only after Caddy switched), every 30 s against
 * drift (a restarted Caddy, a hand edit), and again shortly after a failure.
 * Also the "ask" endpoint Caddy calls before getting a certificate on demand.
 */
import { Elysia } from "elysia";
import { z } from "zod";
import { domainToASCII } from "node:url";
import type { AppContext } from "../context";
import { splitHostPort } from "../config";
import { NotFound } from "../http/errors";
import { loadRoutes } from "../ingress/table";
import { isServedName } from "../domains/queries";
import { CaddyAdmin, type AdminOp } from "./caddy";
import { plan, type EdgeSettings } from "./plan";

/** Where Caddy reaches the ask endpoint: WH_CADDY_ASK_URL, else the API address (a wildcard bind as loopback). */
export function askUrl(config: AppContext["config"]): string {
  if (config.WH_CADDY_ASK_URL) return config.WH_CADDY_ASK_URL;
  let { hostname, port } = splitHostPort(config.WH_LISTEN);
  if (hostname === "0.0.0.0" || hostname === "") hostname = "127.0.0.1";
  if (hostname === "::") hostname = "::1";
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return `http://${host}:${port}/v1/edge/ask`;
}

export function edgeSettings(config: AppContext["config"]): EdgeSettings {
  const tls = config.WH_CADDY_TLS;
  return {
    server: config.WH_CADDY_SERVER,
    tls,
    listen: config.WH_CADDY_LISTEN ? config.WH_CADDY_LISTEN.split(",") : [tls === "off" ? ":80" : ":443"],
    askUrl: askUrl(config),
  };
}

export type ReconcileResult = { applied: AdminOp[]; routes: number };

export type Edge = {
  /** Brings Caddy in line with the route table now (a call during a run runs once more after it). */
  reconcile(): Promise<ReconcileResult | null>;
  /** The last failure, null after a success. */
  lastError(): string | null;
  stop(): void;
};

export function startEdge(ctx: AppContext, opts: { intervalMs?: number; retryMs?: number; log?: (line: string) => void } = {}): Edge {
  if (!ctx.config.WH_CADDY_ADMIN_URL) throw new Error("startEdge needs WH_CADDY_ADMIN_URL");
  const admin = new CaddyAdmin(ctx.config.WH_CADDY_ADMIN_URL);
  const settings = edgeSettings(ctx.config);
  const log = opts.log ?? ((line: string) => console.log(line));
  let error: string | null = null;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | null = null;

  async function once(): Promise<ReconcileResult> {
    const entries = await loadRoutes(ctx.sql, ctx.config.WH_APPS_DOMAIN);
    const ops = plan(await admin.config(), entries, settings);
    const applied: AdminOp[] = [];
    for (const op of ops) {
      await admin.apply(op);
      applied.push(op);
    }
    return { applied, routes: entries.length };
  }

  let running: Promise<ReconcileResult | null> | null = null;
  let again = false;
  function reconcile(): Promise<ReconcileResult | null> {
    if (stopped) return Promise.resolve(null);
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let last: ReconcileResult | null = null;
      try {
        do {
          again = false;
          try {
            last = await once();
            if (error) log(`[edge] Caddy reconciled again (${last.routes} routes)`);
            error = null;
          } catch (e) {
            const msg = e instanceof Error ? e.message : String(e);
            if (msg !== error) console.error(`[edge] Caddy reconcile failed: ${msg}`);
            error = msg;
            last = null;
            if (!stopped && !retry) retry = setTimeout(() => ((retry = null), void reconcile()), opts.retryMs ?? 2000);
          }
        } while (again && !stopped);
      } finally {
        running = null;
      }
      return last;
    })();
    return running;
  }

  const off = ctx.events.on("routes", () => reconcile());
  const timer = setInterval(() => void reconcile(), opts.intervalMs ?? 30_000);
  void reconcile();
  return {
    reconcile,
    lastError: () => error,
    stop() {
      stopped = true;
      off();
      clearInterval(timer);
      if (retry) clearTimeout(retry);
    },
  };
}

/** A host name as Caddy sends it in ?domain=: lowercase ASCII, no trailing dot; null when it isn't one. */
function askedName(domain: string): string | null {
  let d = domain.trim().toLowerCase();
  if (d.endsWith(".")) d = d.slice(0, -1);
  if (!d || d.length > 253 || /[^a-z0-9.\-\u0080-\uffff]/.test(d)) return null;
  const ascii = domainToASCII(d);
  return ascii && /^[a-z0-9.-]+$/.test(ascii) ? ascii : null;
}

/**
 * GET /v1/edge/ask?domain=…: 200 only for a name we serve (a project's app
 * name or a verified custom domain), so nobody can make Caddy request
 * certificates for arbitrary names. No auth: Caddy calls it, on loopback.
 */
export function edgePlugin(ctx: AppContext) {
  return new Elysia({ prefix: "/v1/edge", tags: ["edge"] } as never).get(
    "/ask",
    async ({ query, set }) => {
      const name = askedName(query.domain);
      if (!name || !(await isServedName(ctx.sql, name, ctx.config.WH_APPS_DOMAIN))) throw new NotFound("domain");
      set.headers["cache-control"] = "no-store";
      return { domain: name, allowed: true as const };
    },
    {
      query: z.object({ domain: z.string().min(1).max(300) }),
      response: z.object({ domain: z.string(), allowed: z.literal(true) }),
      detail: { summary: "For Caddy's on-demand TLS: 200 only for app names and verified custom domains (no auth)" },
    },
  );
}
