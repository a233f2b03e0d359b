/**
 * SSRF guard for outgoing webhooks: a target whose name resolves to a
 * loopback, link-local, private, unique-local or otherwise non-public address
 * is refused (unless the admin set WH_ALLOW_PRIVATE_WEBHOOKS). Checked when a
 * channel is saved and again at every send, after DNS resolution; the request
 * then goes to the address that was checked (the Host header and TLS name stay
 * the URL's), so a DNS answer that changes in between can't redirect it.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

export class SsrfError extends Error {}

type Range = { bytes: number[]; bits: number; what: string };

const v4 = (cidr: string, what: string): Range => {
  const [ip, bits] = cidr.split("/");
  return { bytes: ip!.split(".").map(Number), bits: Number(bits), what };
};

/** IPv4 ranges that are not the public internet (RFC 6890 and friends). */
const V4_BLOCKED: Range[] = [
  v4("0.0.0.0/8", "unspecified"),
  v4("10.0.0.0/8", "private"),
  v4("100.64.0.0/10", "shared (CGNAT)"),
  v4("127.0.0.0/8", "loopback"),
  v4("169.254.0.0/16", "link-local"),
  v4("172.16.0.0/12", "private"),
  v4("192.0.0.0/24", "IETF protocol"),
  v4("192.0.2.0/24", "documentation"),
  v4("192.88.99.0/24", "6to4 relay"),
  v4("192.168.0.0/16", "private"),
  v4("198.18.0.0/15", "benchmarking"),
  v4("198.51.100.0/24", "documentation"),
  v4("203.0.113.0/24", "documentation"),
  v4("224.0.0.0/4", "multicast"),
  v4("240.0.0.0/4", "reserved"),
];

/** Parses an IPv6 address (with an optional embedded IPv4 tail) into 16 bytes, or null. */
export function parseIPv6(addr: string): number[] | null {
  let a = addr.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  let tail: number[] = [];
  if (a.includes(".")) {
    const i = a.lastIndexOf(":");
    const quad = a.slice(i + 1).split(".");
    if (quad.length !== 4 || quad.some((q) => !/^\d{1,3}$/.test(q) || Number(q) > 255)) return null;
    const n = quad.map(Number);
    tail = [(n[0]! << 8) | n[1]!, (n[2]! << 8) | n[3]!];
    a = a.slice(0, i + 1);
    if (!a.endsWith("::")) a = a.slice(0, -1);
  }
  const parts = a.split("::");
  if (parts.length > 2) return null;
  const words = (s: string) => (s === "" ? [] : s.split(":").map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = words(parts[0]!);
  const rest = parts.length === 2 ? words(parts[1]!) : [];
  if (head.some(Number.isNaN) || rest.some(Number.isNaN)) return null;
  const explicit = head.length + rest.length + tail.length;
  let all: number[];
  if (parts.length === 2) {
    if (explicit > 7) return null;
    all = [...head, ...new Array<number>(8 - explicit).fill(0), ...rest, ...tail];
  } else {
    if (explicit !== 8) return null;
    all = [...head, ...tail];
  }
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

function inRange(bytes: number[], r: Range): boolean {
  let bits = r.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== (r.bytes[i]! & mask)) return false;
  }
  return true;
}

const v6 = (hex: string, bits: number, what: string): Range => ({ bytes: parseIPv6(hex)!, bits, what });

const V6_BLOCKED: Range[] = [
  v6("::", 128, "unspecified"),
  v6("::1", 128, "loopback"),
  v6("100::", 64, "discard"),
  v6("2001::", 32, "Teredo"),
  v6("2001:db8::", 32, "documentation"),
  v6("fc00::", 7, "unique-local"),
  v6("fe80::", 10, "link-local"),
  v6("fec0::", 10, "site-local"),
  v6("ff00::", 8, "multicast"),
];

/** Why `ip` is not a public address ("loopback", "private", …), or null when it is public. */
export function nonPublicReason(ip: string): string | null {
  const family = isIP(ip.replace(/^\[|\]$/g, "").replace(/%.*$/, ""));
  if (family === 4) {
    const bytes = ip.split(".").map(Number);
    return V4_BLOCKED.find((r) => inRange(bytes, r))?.what ?? null;
  }
  if (family !== 6) return "not an IP address";
  const b = parseIPv6(ip);
  if (!b) return "not an IP address";
  const listed = V6_BLOCKED.find((r) => inRange(b, r));
  if (listed) return listed.what;
  // IPv4 carried inside IPv6: judge the IPv4 address.
  const embedded = (from: number) => b.slice(from, from + 4).join(".");
  if (b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return nonPublicReason(embedded(12)); // ::ffff:a.b.c.d
  if (b.slice(0, 12).every((x) => x === 0)) return "IPv4-compatible"; // ::a.b.c.d (deprecated)
  if (inRange(b, v6("64:ff9b::", 96, ""))) return nonPublicReason(embedded(12)); // NAT64
  if (b[0] === 0x20 && b[1] === 0x02) return nonPublicReason(embedded(2)); // 6to4
  return null;
}

export type CheckedTarget = { url: URL; address: string; family: 4 | 6 };

/** A URL we may post to at all: http(s), a host, no credentials in it. */
export function urlProblem(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "is not a URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return "must be http:// or https://";
  if (u.username || u.password) return "can't hold a user name or password";
  if (!u.hostname) return "has no host";
  return null;
}

/**
 * Resolves the URL's host and checks every address it resolves to. Throws
 * SsrfError naming the refused address; returns the address to connect to.
 */
export async function checkTarget(raw: string, allowPrivate: boolean, resolve = resolveHost): Promise<CheckedTarget> {
  const problem = urlProblem(raw);
  if (problem) throw new SsrfError(problem);
  const url = new URL(raw);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: { address: string; family: number }[];
  const literal = isIP(host);
  if (literal) addresses = [{ address: host, family: literal }];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new SsrfError(`host ${host} does not resolve`);
    }
    if (addresses.length === 0) throw new SsrfError(`host ${host} does not resolve`);
  }
  if (!allowPrivate) {
    for (const a of addresses) {
      const why = nonPublicReason(a.address);
      if (why)
        throw new SsrfError(
          `${literal ? host : `${host} resolves to ${a.address}, which`} is a ${why} address; webhooks may only reach public addresses (an admin can allow private ones with WH_ALLOW_PRIVATE_WEBHOOKS=true)`,
        );
    }
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

async function resolveHost(host: string): Promise<{ address: string; family: number }[]> {
  return lookup(host, { all: true, verbatim: true });
}

/**
 * fetch() to the checked address: the URL's host goes in the Host header and
 * (https) as the TLS server name the certificate must match. Redirects are
 * not followed (a redirect could point anywhere).
 */
export async function pinnedFetch(target: CheckedTarget, init: RequestInit & { timeoutMs: number }): Promise<Response> {
  const u = new URL(target.url.toString());
  const hostHeader = u.host;
  const serverName = u.hostname.replace(/^\[|\]$/g, "");
  u.hostname = target.family === 6 ? `[${target.address}]` : target.address;
  const headers = new Headers(init.headers);
  headers.set("host", hostHeader);
  const tls = u.protocol === "https:" && !isIP(serverName) ? { serverName } : undefined;
  return fetch(u, {
    ...init,
    headers,
    redirect: "manual",
    signal: AbortSignal.timeout(init.timeoutMs),
    ...(tls ? { tls } : {}),
  } as RequestInit);
}
