/**
 * The alert evaluator: turns what it observes (stats batches from the hub,
 * deployments, workers) into alert transitions, pending → firing → resolved,
 * at most one open alert per rule and target. Every transition is a
 * compare-and-swap written in the same transaction as the outbox rows that
 * announce it, so each transition is queued exactly once, whatever crashes.
 * An alert is pending while its condition has held for less than the rule's
 * for_minutes; one whose condition ends before it fires is dropped unannounced.
 *
 * Stats are kept in memory, only as much as the rules need: the latest sample
 * per container and host, and the times of recent container restarts. After a
 * restart of the control plane nothing is known until samples arrive again,
 * and nothing is resolved for lack of data: a crash-loop alert resolves only
 * after a full window of samples with fewer restarts.
 */
import { randomUUID } from "node:crypto";
import type { TransactionSql } from "postgres";
import type { AppContext } from "../context";
import type { EventMap } from "../events";
import { enqueue, purgeOutbox } from "../notifications/queries";
import type { NotificationPayload } from "../notifications/model";
import type { RuleKind } from "./model";
import {
  alertById,
  allRules,
  deploymentsInfo,
  dropPendingAlert,
  failingProjects,
  fireAlert,
  lostDomains,
  insertAlert,
  openAlerts,
  purgeAlerts,
  resolveAlert,
  ruleChannels,
  touchAlert,
  workerStates,
  type AlertRow,
  type DeploymentInfo,
  type RuleRow,
} from "./queries";

/** Samples older than this say nothing about now. */
export const STALE_MS = 3 * 60_000;
/** Observations of a container or host not heard from for this long are dropped. */
const FORGET_MS = 15 * 60_000;
/** The longest crash-loop window a rule may ask for. */
const MAX_WINDOW_MS = 60 * 60_000;
/** Deployments whose container should be up. */
const ACTIVE = new Set(["running", "starting"]);
const CONTAINER_KINDS: readonly RuleKind[] = ["cpu_high", "memory_high", "crash_loop"];

type ContainerObs = { firstAt: number; lastAt: number; cpu: number; mem: number; memLimit: number; restarts: number; restartTimes: number[] };
type HostObs = { firstAt: number; lastAt: number; diskUsed: number; diskTotal: number };

/** Whether the rule's condition holds for a target now; null: can't tell (no fresh data). */
export type Verdict =
  | { cond: true; value: number | null; summary: string; detail: Record<string, unknown> }
  | { cond: false; reason: string }
  | { cond: null };

type Target = { type: AlertRow["target_type"]; id: string; name: string; projectId: string | null };

const key = (ruleId: string, type: string, id: string) => `${ruleId}|${type}|${id}`;
const round1 = (n: number) => Math.round(n * 10) / 10;

/** A sample's time in ms: agents send ms (or seconds); a clock far off is replaced by ours. */
function sampleTime(at: number, now: number): number {
  const ms = at < 1e12 ? at * 1000 : at;
  return Math.abs(ms - now) > 5 * 60_000 ? now : Math.min(ms, now);
}

export class Evaluator {
  readonly containers = new Map<string, ContainerObs>();
  readonly hosts = new Map<string, HostObs>();
  private running: Promise<void> | null = null;
  private again = false;
  private lastPurge = 0;

  constructor(
    private readonly ctx: AppContext,
    /** Called after a transaction queued notifications. */
    private readonly queued: () => void,
  ) {}

  /** A stats batch from a worker. Cheap: memory only; the next evaluation looks at it. */
  observe(e: EventMap["stats"], now = Date.now()): void {
    const samples = [...e.samples].sort((a, b) => a.at - b.at);
    for (const s of samples) {
      const at = sampleTime(s.at, now);
      const h = this.hosts.get(e.worker_id);
      if (!h || at >= h.lastAt)
        this.hosts.set(e.worker_id, { firstAt: h?.firstAt ?? at, lastAt: at, diskUsed: s.host.disk_used_bytes, diskTotal: s.host.disk_total_bytes });
      for (const c of s.containers) {
        const o = this.containers.get(c.deployment_id);
        if (!o) {
          this.containers.set(c.deployment_id, {
            firstAt: at,
            lastAt: at,
            cpu: c.cpu_percent,
            mem: c.mem_bytes,
            memLimit: c.mem_limit_bytes,
            restarts: c.restarts,
            restartTimes: [],
          });
          continue;
        }
        if (at < o.lastAt) continue; // older than what we have
        // The count is cumulative; a smaller one means a new container: start counting again from it.
        const delta = c.restarts - o.restarts;
        for (let i = 0; i < Math.min(delta, 1000); i++) o.restartTimes.push(at);
        o.lastAt = at;
        o.cpu = c.cpu_percent;
        o.mem = c.mem_bytes;
        o.memLimit = c.mem_limit_bytes;
        o.restarts = c.restarts;
      }
    }
  }

  /** Runs an evaluation now, or right after the one in progress. */
  schedule(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.evaluate();
          } catch (e) {
            console.error("[alerts] evaluation failed:", e);
          }
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Resolves when no evaluation is running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private forget(now: number) {
    for (const [id, o] of this.containers) {
      if (now - o.lastAt > FORGET_MS) this.containers.delete(id);
      else if (o.restartTimes.length && o.restartTimes[0]! < now - MAX_WINDOW_MS) o.restartTimes = o.restartTimes.filter((t) => t >= now - MAX_WINDOW_MS);
    }
    for (const [id, h] of this.hosts) if (now - h.lastAt > FORGET_MS) this.hosts.delete(id);
  }

  /** One pass over every rule. */
  async evaluate(now = Date.now()): Promise<void> {
    const sql = this.ctx.sql;
    this.forget(now);
    const rules = await allRules(sql);
    const open = await openAlerts(sql);
    const openByKey = new Map(open.map((a) => [key(a.rule_id, a.target_type, a.target_id), a]));
    const openOf = (ruleId: string) => open.filter((a) => a.rule_id === ruleId);
    const fromAlert = (a: AlertRow): Target => ({ type: a.target_type, id: a.target_id, name: a.target_name, projectId: a.project_id });

    for (const r of rules)
      if (!r.enabled) for (const a of openOf(r.id)) await this.apply(r, fromAlert(a), { cond: false, reason: "the rule was disabled" }, a, now);
    const enabled = rules.filter((r) => r.enabled);

    // Containers: CPU, memory, crash loops.
    const cRules = enabled.filter((r) => CONTAINER_KINDS.includes(r.kind));
    if (cRules.length) {
      const ids = new Set<string>();
      const minMem = Math.min(...cRules.filter((r) => r.kind === "memory_high").map((r) => r.params.threshold_percent ?? 100));
      const anyCpu = cRules.some((r) => r.kind === "cpu_high");
      const anyCrash = cRules.some((r) => r.kind === "crash_loop");
      for (const [id, o] of this.containers) {
        if (now - o.lastAt > STALE_MS) continue;
        if (anyCpu || (anyCrash && o.restartTimes.length) || (o.memLimit > 0 && (o.mem / o.memLimit) * 100 > minMem)) ids.add(id);
      }
      for (const r of cRules) for (const a of openOf(r.id)) ids.add(a.target_id);
      const info = new Map((await deploymentsInfo(sql, [...ids])).map((d) => [d.id, d]));
      for (const r of cRules) {
        for (const id of ids) {
          const a = openByKey.get(key(r.id, "deployment", id));
          const d = info.get(id);
          if (!a && (!d || (r.project_id && d.project_id !== r.project_id))) continue;
          const target: Target = d
            ? { type: "deployment", id, name: `${d.project_name} (deployment ${id.slice(0, 8)})`, projectId: d.project_id }
            : fromAlert(a!);
          await this.apply(r, target, containerVerdict(r, d, this.containers.get(id), now), a, now);
        }
      }
    }

    // Projects: failed deployments.
    for (const r of enabled.filter((x) => x.kind === "deployment_failed")) {
      const mine = openOf(r.id);
      const since = new Date(Math.max(r.created_at.getTime(), now - 24 * 3600_000));
      const failing = await failingProjects(sql, since, mine.map((a) => a.target_id), r.project_id);
      const seen = new Set<string>();
      for (const f of failing) {
        seen.add(f.project_id);
        const target: Target = { type: "project", id: f.project_id, name: f.project_name, projectId: f.project_id };
        const summary = `deployment ${f.deployment_id.slice(0, 8)} failed${f.error ? `: ${f.error.slice(0, 300)}` : ""}`;
        const v: Verdict = { cond: true, value: null, summary, detail: { deployment_id: f.deployment_id, error: f.error, failed_at: f.failed_at.toISOString() } };
        await this.apply(r, target, v, openByKey.get(key(r.id, "project", f.project_id)), now);
      }
      for (const a of mine)
        if (!seen.has(a.target_id)) await this.apply(r, fromAlert(a), { cond: false, reason: "a later deployment is running, or the project is gone" }, a, now);
    }

    // Domains: verification lost (record missing, or unverified after the grace period).
    for (const r of enabled.filter((x) => x.kind === "domain_lost")) {
      const mine = openOf(r.id);
      const seen = new Set<string>();
      for (const d of await lostDomains(sql, mine.map((a) => a.target_id), r.project_id)) {
        seen.add(d.id);
        const target: Target = { type: "domain", id: d.id, name: d.hostname, projectId: d.project_id };
        const lost = d.failing_since !== null || d.status !== "verified";
        const v: Verdict = lost
          ? {
              cond: true,
              value: null,
              summary: `${d.hostname}: ${d.status === "verified" ? "verification record missing" : "no longer verified"}${d.last_error ? ` (${d.last_error.slice(0, 200)})` : ""}`,
              detail: { hostname: d.hostname, status: d.status, failing_since: d.failing_since?.toISOString() ?? null },
            }
          : { cond: false, reason: "the domain is verified again" };
        await this.apply(r, target, v, openByKey.get(key(r.id, "domain", d.id)), now);
      }
      for (const a of mine) if (!seen.has(a.target_id)) await this.apply(r, fromAlert(a), { cond: false, reason: "the domain was removed" }, a, now);
    }

    // Workers: offline, disk.
    const wRules = enabled.filter((r) => r.kind === "worker_offline" || r.kind === "worker_disk_high");
    if (wRules.length) {
      const workers = new Map((await workerStates(sql)).map((w) => [w.id, w]));
      for (const r of wRules) {
        const ids = new Set([...workers.keys(), ...openOf(r.id).map((a) => a.target_id)]);
        for (const id of ids) {
          const w = workers.get(id);
          const a = openByKey.get(key(r.id, "worker", id));
          let v: Verdict;
          if (!w) v = { cond: false, reason: "the worker was deleted" };
          else if (r.kind === "worker_offline") {
            if (w.status !== "offline") v = { cond: false, reason: "the worker is back online" };
            else if (!w.last_heartbeat) v = { cond: null }; // registered, never connected
            else
              v = {
                cond: true,
                value: null,
                summary: `worker ${w.name} offline since its last heartbeat at ${w.last_heartbeat.toISOString()}`,
                detail: { last_heartbeat: w.last_heartbeat.toISOString() },
              };
          } else {
            const h = this.hosts.get(id);
            if (!h || now - h.lastAt > STALE_MS || h.diskTotal <= 0) v = { cond: null };
            else {
              const pct = (h.diskUsed / h.diskTotal) * 100;
              const thr = r.params.threshold_percent ?? 90;
              v =
                pct > thr
                  ? { cond: true, value: round1(pct), summary: `disk ${round1(pct)}% full (threshold ${thr}%)`, detail: { disk_used_bytes: h.diskUsed, disk_total_bytes: h.diskTotal } }
                  : { cond: false, reason: `disk down to ${round1(pct)}%` };
            }
          }
          if (v.cond === true || a) await this.apply(r, w ? { type: "worker", id, name: w.name, projectId: null } : fromAlert(a!), v, a, now);
        }
      }
    }

    if (now - this.lastPurge > 3600_000) {
      this.lastPurge = now;
      await purgeOutbox(sql, 30);
      await purgeAlerts(sql, 90);
    }
  }

  /** Applies a verdict to the (rule, target) pair: open, fire, keep, or resolve its alert. */
  private async apply(r: RuleRow, t: Target, v: Verdict, open: AlertRow | undefined, now: number): Promise<void> {
    const sql = this.ctx.sql;
    if (v.cond === null) return;
    if (v.cond === true) {
      if (!open) {
        const status = r.for_minutes <= 0 ? "firing" : "pending";
        const { id, n } = await sql.begin(async (tx) => {
          const row = await insertAlert(tx, {
            rule_id: r.id,
            target_type: t.type,
            target_id: t.id,
            target_name: t.name,
            project_id: t.projectId,
            status,
            value: v.value,
            summary: v.summary,
            detail: v.detail,
          });
          if (!row) return { id: null, n: 0 };
          return { id: row.id, n: status === "firing" ? await this.announce(tx, r, row.id, "firing", v.summary, now) : 0 };
        });
        if (id) this.changed(id, r, status, t.projectId, n);
      } else if (open.status === "pending" && now - open.first_seen.getTime() >= r.for_minutes * 60_000) {
        const n = await sql.begin(async (tx) => {
          if (!(await fireAlert(tx, open.id, v.value, v.summary, v.detail))) return -1;
          return this.announce(tx, r, open.id, "firing", v.summary, now);
        });
        if (n >= 0) this.changed(open.id, r, "firing", t.projectId, n);
      } else await touchAlert(sql, open.id, v.value, v.summary, v.detail);
      return;
    }
    if (!open) return;
    if (open.status === "pending") {
      // It never fired, so nobody heard of it: its end is no news either, and it leaves no row.
      if (await dropPendingAlert(sql, open.id)) this.changed(open.id, r, "resolved", t.projectId, 0);
      return;
    }
    const n = await sql.begin(async (tx) => {
      if (!(await resolveAlert(tx, open.id, "firing", v.reason))) return -1;
      return this.announce(tx, r, open.id, "resolved", `resolved: ${v.reason}`, now);
    });
    if (n >= 0) this.changed(open.id, r, "resolved", t.projectId, n);
  }

  private changed(alertId: string, r: RuleRow, status: "pending" | "firing" | "resolved", projectId: string | null, queued: number) {
    this.ctx.events.emit("alert", { alert_id: alertId, rule_id: r.id, status, project_id: projectId });
    if (queued > 0) this.queued();
  }

  /**
   * Queues one delivery per enabled channel of the rule, keyed by alert,
   * transition and channel: a second attempt to queue the same one is a no-op.
   * Nothing is queued while the rule or the alert is silenced.
   */
  private async announce(tx: TransactionSql, r: RuleRow, alertId: string, transition: "firing" | "resolved", message: string, now: number): Promise<number> {
    const a = await alertById(tx, alertId);
    if (!a) return 0;
    if ((r.silenced_until && r.silenced_until.getTime() > now) || (a.silenced_until && a.silenced_until.getTime() > now)) return 0;
    let n = 0;
    for (const c of await ruleChannels(tx, r.id)) {
      const id = randomUUID();
      const payload = toPayload(a, transition, id, message);
      if (await enqueue(tx, { id, idempotency_key: `alert:${a.id}:${transition}:${c.id}`, channel_id: c.id, alert_id: a.id, event: payload.event, payload })) n++;
    }
    return n;
  }
}

function containerVerdict(r: RuleRow, d: DeploymentInfo | undefined, o: ContainerObs | undefined, now: number): Verdict {
  if (!d) return { cond: false, reason: "the deployment no longer exists" };
  if (!ACTIVE.has(d.status)) return { cond: false, reason: `the deployment is ${d.status}` };
  if (!o || now - o.lastAt > STALE_MS) return { cond: null };
  const forText = r.for_minutes > 0 ? ` for ${r.for_minutes} min` : "";
  switch (r.kind) {
    case "cpu_high": {
      const pct = o.cpu / Math.max(d.cpus, 0.01);
      const thr = r.params.threshold_percent ?? 90;
      return pct > thr
        ? { cond: true, value: round1(pct), summary: `CPU at ${round1(pct)}% of its limit of ${d.cpus} CPUs (threshold ${thr}%${forText})`, detail: { cpu_percent: o.cpu, cpus: d.cpus } }
        : { cond: false, reason: `CPU down to ${round1(pct)}% of its limit` };
    }
    case "memory_high": {
      if (o.memLimit <= 0) return { cond: null };
      const pct = (o.mem / o.memLimit) * 100;
      const thr = r.params.threshold_percent ?? 90;
      return pct > thr
        ? { cond: true, value: round1(pct), summary: `memory at ${round1(pct)}% of its limit (threshold ${thr}%${forText})`, detail: { mem_bytes: o.mem, mem_limit_bytes: o.memLimit } }
        : { cond: false, reason: `memory down to ${round1(pct)}% of its limit` };
    }
    case "crash_loop": {
      const k = r.params.restarts ?? 3;
      const win = r.params.window_minutes ?? 5;
      const count = o.restartTimes.filter((t) => t >= now - win * 60_000).length;
      if (count >= k)
        return { cond: true, value: count, summary: `restarted ${count} times in the last ${win} min (threshold ${k})`, detail: { restarts: count, window_minutes: win, restart_count_total: o.restarts } };
      // Fewer restarts is only news after watching a whole window.
      if (now - o.firstAt >= win * 60_000) return { cond: false, reason: `${count} restarts in the last ${win} min` };
      return { cond: null };
    }
    default:
      return { cond: null };
  }
}

function toPayload(a: AlertRow, transition: "firing" | "resolved", deliveryId: string, message: string): NotificationPayload {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    event: transition === "firing" ? "alert.firing" : "alert.resolved",
    delivery_id: deliveryId,
    transition_id: `${a.id}:${transition}`,
    at: new Date().toISOString(),
    alert: {
      id: a.id,
      status: a.status,
      rule_id: a.rule_id,
      rule_name: a.rule_name,
      kind: a.kind,
      target_type: a.target_type,
      target_id: a.target_id,
      target_name: a.target_name,
      project_id: a.project_id,
      summary: a.summary,
      value: a.value,
      first_seen: a.first_seen.toISOString(),
      last_seen: a.last_seen.toISOString(),
      fired_at: iso(a.fired_at),
      resolved_at: iso(a.resolved_at),
    },
    message,
  };
}
