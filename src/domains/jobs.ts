/**
 * The background side of domains: every few seconds, take the domains whose
 * check is due (leased, so control planes sharing a database don't check one
 * twice) and check them, a few at a time.
 */
import type { AppContext } from "../context";
import { coalesced } from "../util/coalesce";
import type { DnsChecker } from "./dns";
import { claimDue } from "./queries";
import { checkAndApply } from "./service";

export type DomainJobOptions = {
  /** How often to look for due checks (default 5 s). */
  pollMs?: number;
  /** Domains checked at once (default 4). */
  concurrency?: number;
  /** Replaces the WH_DNS_SERVERS checker (tests). */
  checker?: DnsChecker;
};

/** A claimed check not finished by then is taken again. */
const LEASE_MS = 2 * 60_000;
const BATCH = 50;

export function startDomainJobs(ctx: AppContext, opts: DomainJobOptions = {}): { stop(): void; tick(): Promise<void> } {
  let stopped = false;
  const concurrency = opts.concurrency ?? 4;
  const tick = coalesced(async () => {
    while (!stopped) {
      const due = await claimDue(ctx.sql, BATCH, LEASE_MS);
      if (due.length === 0) return;
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, due.length) }, async () => {
          while (!stopped && next < due.length) {
            const row = due[next++]!;
            try {
              await checkAndApply(ctx, row, undefined, { checker: opts.checker });
            } catch (e) {
              console.error(`[domains] checking ${row.hostname} failed:`, e);
            }
          }
        }),
      );
      if (due.length < BATCH) return;
    }
  }, "domains");
  const timer = setInterval(() => void tick(), opts.pollMs ?? 5000);
  void tick();
  return {
    tick,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
