/**
 * Custom-domain host names: Unicode to punycode (IDNA), lowercase, no trailing
 * dot, every label a valid DNS label, at least two labels, never an IP
 * address, never under WH_APPS_DOMAIN, and a wildcard only as the whole
 * leftmost label when the admin allows wildcards.
 */
import { domainToASCII, domainToUnicode } from "node:url";

export type HostnameRules = { appsDomain: string; allowWildcard: boolean };

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The stored form of `input`, or a message saying what is wrong with it. */
export function normalizeHostname(input: string, rules: HostnameRules): { hostname: string } | { error: string } {
  let h = input.trim();
  if (h.endsWith(".")) h = h.slice(0, -1);
  if (!h) return { error: "is empty" };
  if (/[\s/\\:@?#%[\]]/.test(h)) return { error: "must be a bare host name (no scheme, port, path or spaces)" };
  let wildcard = false;
  if (h.startsWith("*.")) {
    wildcard = true;
    h = h.slice(2);
  }
  if (h.includes("*")) return { error: "a wildcard is only allowed as the whole leftmost label, as in *.example.com" };
  if (wildcard && !rules.allowWildcard) return { error: "wildcard domains are not allowed on this server" };
  const ascii = domainToASCII(h);
  if (!ascii) return { error: "is not a valid international domain name" };
  const labels = ascii.split(".");
  if (labels.length < 2) return { error: "must have at least two labels, like example.com" };
  if (labels.some((l) => !LABEL.test(l))) return { error: "each label must be 1-63 of a-z, 0-9 and '-', not starting or ending with '-'" };
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return { error: "must be a domain name, not an IP address" };
  const full = (wildcard ? "*." : "") + ascii;
  if (full.length > 253) return { error: "is longer than 253 characters" };
  const apps = rules.appsDomain.toLowerCase();
  if (ascii === apps || ascii.endsWith("." + apps))
    return { error: `is under ${apps}, where every project already has its own name` };
  return { hostname: full };
}

export const isWildcard = (hostname: string) => hostname.startsWith("*.");

/** The name that holds the TXT record: _wisehosting.<hostname>, for a wildcard on its parent. */
export const verificationName = (hostname: string) => `_wisehosting.${hostname.replace(/^\*\./, "")}`;

export function displayHostname(hostname: string): string {
  const wildcard = isWildcard(hostname);
  const base = wildcard ? hostname.slice(2) : hostname;
  return (wildcard ? "*." : "") + (domainToUnicode(base) || base);
}

/** True when the route hostname (maybe a wildcard) serves `name`. */
export function hostnameMatches(routeHostname: string, name: string): boolean {
  if (!isWildcard(routeHostname)) return routeHostname === name;
  const dot = name.indexOf(".");
  return dot > 0 && name.slice(dot + 1) === routeHostname.slice(2);
}
