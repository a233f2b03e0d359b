/**
 * The route table every edge serves: host name → worker address and
 * published port of the project's current, running deployment, for
 * <project>.<WH_APPS_DOMAIN> and the project's verified custom domains. Pure
 * lookup logic lives here; loading is in table.ts.
 */

export type Upstream = { address: string; port: number };

/** One hostname served by an edge: an app's own name or a verified custom domain. */
export type RouteEntry = {
  /** ASCII, lowercase; "*.example.com" for a wildcard domain (matches exactly one more label). */
  hostname: string;
  project: string;
  kind: "app" | "domain";
  upstream: Upstream;
};

/** Lookup structure of the built-in ingress: exact names, then wildcards by their parent name. */
export type RouteTable = { exact: Map<string, Upstream>; wildcard: Map<string, Upstream> };

export function buildTable(entries: RouteEntry[]): RouteTable {
  const exact = new Map<string, Upstream>();
  const wildcard = new Map<string, Upstream>();
  for (const e of entries) {
    if (e.hostname.startsWith("*.")) wildcard.set(e.hostname.slice(2), e.upstream);
    else exact.set(e.hostname, e.upstream);
  }
  return { exact, wildcard };
}

/** The host name of a Host header: lowercase, port and trailing dot removed; null for IP literals in brackets. */
export function hostOnly(host: string | null): string | null {
  if (!host) return null;
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) return null;
  const colon = h.lastIndexOf(":");
  if (colon !== -1) h = h.slice(0, colon);
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h || null;
}

/** Where a request for `host` goes: an exact name first, else a wildcard one label up. */
export function lookupRoute(table: RouteTable, host: string | null): Upstream | undefined {
  const h = hostOnly(host);
  if (!h) return undefined;
  const exact = table.exact.get(h);
  if (exact) return exact;
  const dot = h.indexOf(".");
  return dot > 0 ? table.wildcard.get(h.slice(dot + 1)) : undefined;
}

/** Extracts the project label from a Host header, or null when it isn't one of ours. */
export function projectFromHost(host: string | null, appsDomain: string): string | null {
  const h = hostOnly(host);
  const suffix = "." + appsDomain;
  if (!h || !h.endsWith(suffix)) return null;
  const label = h.slice(0, -suffix.length);
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label) ? label : null;
}

/** Headers that describe one hop and must not be forwarded (RFC 9110 §7.6.1). */
export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** The request headers sent upstream: hop-by-hop ones dropped, X-Forwarded-* set. */
export function forwardHeaders(incoming: Headers, clientIp: string, proto: "http" | "https"): Headers {
  const out = new Headers();
  const named = new Set((incoming.get("connection") ?? "").split(",").map((s) => s.trim().toLowerCase()));
  incoming.forEach((value, key) => {
    if (!HOP_BY_HOP.has(key) && !named.has(key)) out.append(key, value);
  });
  const prior = incoming.get("x-forwarded-for");
  out.set("x-forwarded-for", prior ? `${prior}, ${clientIp}` : clientIp);
  out.set("x-forwarded-proto", proto);
  const host = incoming.get("host");
  if (host) out.set("x-forwarded-host", host);
  return out;
}
