/**
 * Custom domains: add one to a project, prove ownership with a TXT record at
 * _wisehosting.<hostname> holding the domain's token, and route it once
 * verified. Checks run on request and in the background (startDomainJobs):
 * a domain that isn't verified is retried with backoff for 72 h; a verified
 * one is re-checked daily and, when its record is gone for longer than
 * WH_DOMAIN_GRACE_HOURS, unverified so it stops routing. Every step is audited.
 */
import { randomBytes } from "node:crypto";
import type { AppContext } from "../context";
import { Conflict, NotFound, BadRequest } from "../http/errors";
import { audit, SYSTEM_ACTOR, type Actor, type Caller } from "../audit/service";
import { getProject } from "../projects/service";
import type { Viewer } from "../projects/queries";
import { dnsChecker, type CheckResult, type DnsChecker } from "./dns";
import { displayHostname, isWildcard, normalizeHostname, verificationName } from "./hostname";
import type { Domain, DomainCreate } from "./model";
import {
  countDomains,
  deleteDomain,
  findDomain,
  insertDomain,
  listDomains,
  markCheckFailed,
  markManualCheckFailed,
  markRechecked,
  markRecheckFailed,
  markVerified,
  verifiedElsewhere,
  type DomainRow,
} from "./queries";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How often and how long domains are checked. */
export type DomainTiming = {
  /** First background check after adding (or after retries restart). */
  firstCheckMs: number;
  /** Backoff of background retries: base · 2^attempt, at most max. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long a domain that isn't verified is retried in the background. */
  retryWindowMs: number;
  /** Re-check of a verified domain. */
  recheckMs: number;
  /** A verified domain whose record is missing keeps routing this long. */
  graceMs: number;
  /** Re-check interval while in the grace period. */
  graceCheckMs: number;
};

export function timing(ctx: Pick<AppContext, "config">): DomainTiming {
  return {
    firstCheckMs: 30_000,
    backoffBaseMs: 30_000,
    backoffMaxMs: HOUR,
    retryWindowMs: 72 * HOUR,
    recheckMs: 24 * HOUR,
    graceMs: Math.round(ctx.config.WH_DOMAIN_GRACE_HOURS * HOUR),
    graceCheckMs: HOUR,
  };
}

/** Delay before retry number `attempt` (0-based): 30 s, 1 min, 2 min, … capped at 1 h. */
export function backoffMs(t: DomainTiming, attempt: number): number {
  return Math.min(t.backoffMaxMs, t.backoffBaseMs * 2 ** Math.min(attempt, 30));
}

/** At most this many domains per project. */
export const MAX_DOMAINS_PER_PROJECT = 100;

const checkers = new WeakMap<AppContext, DnsChecker>();
/** The DNS checker of this context (WH_DNS_SERVERS); tests may replace it. */
export function checkerOf(ctx: AppContext): DnsChecker {
  let c = checkers.get(ctx);
  if (!c) checkers.set(ctx, (c = dnsChecker(ctx.config.WH_DNS_SERVERS)));
  return c;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toDomain(ctx: Pick<AppContext, "config">, r: DomainRow): Domain {
  const graceMs = timing(ctx).graceMs;
  return {
    id: r.id,
    project_id: r.project_id,
    hostname: r.hostname,
    display_hostname: displayHostname(r.hostname),
    wildcard: isWildcard(r.hostname),
    status: r.status,
    verification_token: r.verification_token,
    records: [
      { type: "TXT", name: verificationName(r.hostname), value: r.verification_token, purpose: "verification" },
      { type: "CNAME", name: r.hostname, value: `${r.project_name}.${ctx.config.WH_APPS_DOMAIN}`, purpose: "routing" },
    ],
    last_error: r.last_error,
    last_checked_at: iso(r.last_checked_at),
    next_check_at: iso(r.next_check_at),
    retry_until: r.status === "verified" ? null : iso(r.retry_until),
    verified_at: iso(r.verified_at),
    failing_since: iso(r.failing_since),
    unverify_at: r.failing_since ? new Date(r.failing_since.getTime() + graceMs).toISOString() : null,
    cname_target: r.cname_target,
    created_at: r.created_at.toISOString(),
  };
}

const isUniqueViolation = (e: unknown) => (e as { code?: string }).code === "23505";

const target = (r: DomainRow) => ({ target_type: "domain", target_id: r.id });
const about = (r: DomainRow) => ({ hostname: r.hostname, project_id: r.project_id });

async function getDomain(ctx: AppContext, v: Viewer, id: string): Promise<DomainRow> {
  const row = await findDomain(ctx.sql, v, id);
  if (!row) throw new NotFound("domain");
  return row;
}

export async function list(ctx: AppContext, v: Viewer, projectId: string): Promise<Domain[]> {
  await getProject(ctx, v, projectId);
  return (await listDomains(ctx.sql, projectId)).map((r) => toDomain(ctx, r));
}

export async function get(ctx: AppContext, v: Viewer, id: string): Promise<Domain> {
  return toDomain(ctx, await getDomain(ctx, v, id));
}

export async function create(ctx: AppContext, caller: Caller, projectId: string, input: DomainCreate): Promise<Domain> {
  const project = await getProject(ctx, caller, projectId);
  const n = normalizeHostname(input.hostname, { appsDomain: ctx.config.WH_APPS_DOMAIN, allowWildcard: ctx.config.WH_ALLOW_WILDCARD_DOMAINS });
  if ("error" in n) throw new BadRequest(`hostname: ${n.error}`);
  const hostname = n.hostname;
  if (await verifiedElsewhere(ctx.sql, hostname, project.id))
    throw new Conflict(`hostname: ${hostname} is already verified by another project`, "hostname_taken");
  if ((await countDomains(ctx.sql, project.id)) >= MAX_DOMAINS_PER_PROJECT)
    throw new Conflict(`a project has at most ${MAX_DOMAINS_PER_PROJECT} domains`, "too_many_domains");
  const t = timing(ctx);
  const token = `wh-verify-${randomBytes(16).toString("hex")}`;
  let id: string;
  try {
    id = await ctx.sql.begin(async (tx) => {
      const id = await insertDomain(tx, { projectId: project.id, hostname, token, createdBy: caller.id, firstCheckMs: t.firstCheckMs, retryWindowMs: t.retryWindowMs });
      await audit(tx, caller, "domain.create", { target_type: "domain", target_id: id, detail: { hostname, project_id: project.id } });
      return id;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new Conflict(`hostname: ${hostname} is already a domain of this project`, "hostname_taken");
    throw e;
  }
  return get(ctx, caller, id);
}

export async function remove(ctx: AppContext, caller: Caller, id: string): Promise<void> {
  const row = await getDomain(ctx, caller, id);
  const deleted = await ctx.sql.begin(async (tx) => {
    if (!(await deleteDomain(tx, row.id))) return false;
    await audit(tx, caller, "domain.delete", { ...target(row), detail: { ...about(row), was: row.status } });
    return true;
  });
  if (!deleted) throw new NotFound("domain");
  if (row.status === "verified") await ctx.events.emitAndWait("routes", {});
}

/** "Verify now": checks DNS at once and answers with the domain as it is afterwards. */
export async function verifyNow(ctx: AppContext, caller: Caller, id: string): Promise<Domain> {
  const row = await getDomain(ctx, caller, id);
  const after = await checkAndApply(ctx, row, caller, { manual: true });
  return toDomain(ctx, after ?? (await getDomain(ctx, caller, id)));
}

/**
 * Checks one domain's TXT record and applies the outcome (see the module
 * comment). Returns the row afterwards, or undefined when someone else changed
 * it meanwhile (their change stands).
 */
export async function checkAndApply(
  ctx: AppContext,
  row: DomainRow,
  actor: Actor = SYSTEM_ACTOR,
  opts: { manual?: boolean; checker?: DnsChecker } = {},
): Promise<DomainRow | undefined> {
  const t = timing(ctx);
  let result: CheckResult;
  try {
    result = await (opts.checker ?? checkerOf(ctx)).check(row.hostname, row.verification_token);
  } catch (e) {
    result = { ok: false, error: `DNS lookup failed: ${e instanceof Error ? e.message : String(e)}`, cname: null };
  }
  const manual = opts.manual ?? false;
  const sql = ctx.sql;

  if (row.status === "verified") {
    if (result.ok) {
      const after = await markRechecked(sql, row, result.cname, t.recheckMs);
      if (after) await audit(sql, actor, row.failing_since ? "domain.recovered" : "domain.rechecked", { ...target(row), detail: { ...about(row), manual } });
      return after;
    }
    const r = await markRecheckFailed(sql, row, { error: result.error, cname: result.cname, graceMs: t.graceMs, graceCheckMs: t.graceCheckMs, firstCheckMs: t.firstCheckMs, retryWindowMs: t.retryWindowMs });
    if (!r) return undefined;
    if (r.unverified) {
      await audit(sql, actor, "domain.unverified", {
        outcome: "failure",
        ...target(row),
        detail: { ...about(row), error: result.error, failing_since: iso(row.failing_since), grace_hours: ctx.config.WH_DOMAIN_GRACE_HOURS },
      });
      await ctx.events.emitAndWait("routes", {});
    } else {
      await audit(sql, actor, row.failing_since ? "domain.recheck_failed" : "domain.record_missing", {
        outcome: "failure",
        ...target(row),
        detail: { ...about(row), error: result.error, manual, unverify_at: toDomain(ctx, r.row).unverify_at },
      });
    }
    return r.row;
  }

  if (result.ok) {
    try {
      const after = await markVerified(sql, row, result.cname, t.recheckMs);
      if (after) {
        await audit(sql, actor, "domain.verified", { ...target(row), detail: { ...about(row), manual, attempts: row.attempts } });
        await ctx.events.emitAndWait("routes", {});
      }
      return after;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      result = { ok: false, error: `${row.hostname} is already verified by another project`, cname: result.cname };
    }
  }

  const after = manual
    ? await markManualCheckFailed(sql, row, { error: result.error, cname: result.cname, firstCheckMs: t.firstCheckMs, retryWindowMs: t.retryWindowMs })
    : await markCheckFailed(sql, row, { error: result.error, cname: result.cname, delayMs: backoffMs(t, row.attempts) });
  if (after) {
    await audit(sql, actor, "domain.verify_failed", {
      outcome: "failure",
      ...target(row),
      detail: { ...about(row), error: result.error, manual, attempt: after.attempts, next_check_at: iso(after.next_check_at) },
    });
    if (after.next_check_at === null && !manual)
      await audit(sql, actor, "domain.verify_expired", { outcome: "failure", ...target(row), detail: { ...about(row), error: result.error } });
  }
  return after;
}
