/**
 * The ingress route table: project name → worker address and published port
 * of its current, running deployment. Pure lookup logic lives here; loading
 * is in service.ts.
 */

export type Upstream = { address: string; port: number };

/** Extracts the project label from a Host header, or null when it isn't one of ours. */
export function projectFromHost(host: string | null, appsDomain: string): string | null {
  if (!host) return null;
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) return null; // an IP literal is never an app
  const colon = h.lastIndexOf(":");
  if (colon !== -1) h = h.slice(0, colon);
  if (h.endsWith(".")) h = h.slice(0, -1);
  const suffix = "." + appsDomain;
  if (!h.endsWith(suffix)) return null;
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
