/**
 * The DNS side of verification: is the domain's token in the TXT record at
 * _wisehosting.<hostname>? Uses node:dns's Resolver on WH_DNS_SERVERS (the
 * system's resolvers when unset), so tests point it at a DNS server on loopback.
 */
import { Resolver } from "node:dns/promises";
import { verificationName } from "./hostname";

export type CheckResult = { ok: true; cname: string | null } | { ok: false; error: string; cname: string | null };

export type DnsChecker = { check(hostname: string, token: string): Promise<CheckResult> };

const TIMEOUT_MS = 3000;
const CNAME_WAIT_MS = 1500;

function describe(err: unknown, name: string): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case "ENOTFOUND":
    case "ENODATA":
      return `no TXT record found at ${name}`;
    case "ETIMEOUT":
      return `the DNS server did not answer for ${name} (timeout)`;
    case "ESERVFAIL":
      return `the DNS server failed to answer for ${name} (SERVFAIL)`;
    case "EREFUSED":
      return `the DNS server refused the query for ${name}`;
    case "ECONNREFUSED":
      return `could not reach the DNS server for ${name}`;
    default:
      return `DNS lookup of ${name} failed (${code ?? (err instanceof Error ? err.message : String(err))})`;
  }
}

export function dnsChecker(servers: string[] | undefined): DnsChecker {
  return {
    async check(hostname, token) {
      // A resolver per check: c-ares caches answers (negative ones too), and a
      // record the user just created must be seen by the next check.
      const resolver = new Resolver({ timeout: TIMEOUT_MS, tries: 2 });
      if (servers?.length) resolver.setServers(servers);
      const name = verificationName(hostname);
      // The routing record of a wildcard has no single name to look at.
      // It is informational only, so it may not hold up the verdict for long.
      const cnameLookup = hostname.startsWith("*.")
        ? Promise.resolve([])
        : Promise.race([resolver.resolveCname(hostname), Bun.sleep(CNAME_WAIT_MS).then(() => [] as string[])]);
      const [txt, cname] = await Promise.allSettled([resolver.resolveTxt(name), cnameLookup]);
      const target = cname.status === "fulfilled" && cname.value[0] ? cname.value[0].toLowerCase().replace(/\.$/, "") : null;
      if (txt.status === "rejected") return { ok: false, error: describe(txt.reason, name), cname: target };
      // A TXT record may be split into several strings; they form one value.
      const values = txt.value.map((chunks) => chunks.join("").trim());
      if (values.includes(token)) return { ok: true, cname: target };
      if (values.length === 0) return { ok: false, error: `no TXT record found at ${name}`, cname: target };
      return { ok: false, error: `the TXT record at ${name} does not hold this domain's token`, cname: target };
    },
  };
}
