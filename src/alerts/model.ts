/**
 * Alert rule and alert shapes: what the API takes and gives back. Depends
 * only on zod, so the dashboard can import it.
 */
import { z } from "zod";

export const ruleKind = z.enum(["cpu_high", "memory_high", "crash_loop", "deployment_failed", "worker_offline", "worker_disk_high", "domain_lost"]);
export type RuleKind = z.infer<typeof ruleKind>;

/** Kinds about a worker: global rules only. */
export const WORKER_KINDS: readonly RuleKind[] = ["worker_offline", "worker_disk_high"];

const percent = z.number().gt(0).max(100);

/** Each kind's parameters. */
export const ruleParams = {
  /** CPU use as a percentage of the container's CPU limit (the project's cpus). */
  cpu_high: z.object({ threshold_percent: percent }).strict(),
  /** Memory use as a percentage of the container's memory limit. */
  memory_high: z.object({ threshold_percent: percent }).strict(),
  /** `restarts` restarts (by podman's restart policy) within `window_minutes`. */
  crash_loop: z
    .object({ restarts: z.number().int().min(1).max(1000).default(3), window_minutes: z.number().min(1).max(60).default(5) })
    .strict(),
  deployment_failed: z.object({}).strict(),
  domain_lost: z.object({}).strict(),
  worker_offline: z.object({}).strict(),
  /** Used share of the worker's disk. */
  worker_disk_high: z.object({ threshold_percent: percent }).strict(),
} as const;
export type RuleParams = { threshold_percent?: number; restarts?: number; window_minutes?: number };

/** How long the condition must hold before the alert fires, when the rule doesn't say. */
export const DEFAULT_FOR_MINUTES: Record<RuleKind, number> = {
  cpu_high: 5,
  memory_high: 0,
  crash_loop: 0,
  deployment_failed: 0,
  domain_lost: 0,
  worker_offline: 1,
  worker_disk_high: 0,
};

const isoDateTime = z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" });

const common = {
  name: z.string().trim().min(1).max(100),
  /** Omitted or null: a global rule (admins only). */
  project_id: z.string().uuid("must be a UUID").nullable().default(null),
  /** Minutes the condition must hold before the alert fires; it is pending until then. */
  for_minutes: z.number().min(0).max(1440).optional(),
  enabled: z.boolean().default(true),
  /** No notifications from this rule until then. */
  silenced_until: isoDateTime.nullable().default(null),
  /** Channels notified when an alert of this rule fires or resolves. */
  channel_ids: z.array(z.string().uuid("must be a UUID")).max(20).default([]),
};
const channelIds = z.array(z.string().uuid("must be a UUID")).max(20);

export const ruleCreate = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("cpu_high"), params: ruleParams.cpu_high, ...common }).strict(),
  z.object({ kind: z.literal("memory_high"), params: ruleParams.memory_high, ...common }).strict(),
  z.object({ kind: z.literal("crash_loop"), params: ruleParams.crash_loop.default({ restarts: 3, window_minutes: 5 }), ...common }).strict(),
  z.object({ kind: z.literal("deployment_failed"), params: ruleParams.deployment_failed.default({}), ...common }).strict(),
  z.object({ kind: z.literal("domain_lost"), params: ruleParams.domain_lost.default({}), ...common }).strict(),
  z.object({ kind: z.literal("worker_offline"), params: ruleParams.worker_offline.default({}), ...common }).strict(),
  z.object({ kind: z.literal("worker_disk_high"), params: ruleParams.worker_disk_high, ...common }).strict(),
]);
export type RuleCreate = z.infer<typeof ruleCreate>;

/** The kind and the project can't change; `params` is checked against the rule's kind. */
export const rulePatch = z
  .object({
    name: common.name.optional(),
    params: z.record(z.string(), z.number()).optional(),
    for_minutes: z.number().min(0).max(1440).optional(),
    enabled: z.boolean().optional(),
    silenced_until: isoDateTime.nullable().optional(),
    channel_ids: channelIds.optional(),
  })
  .strict();
export type RulePatch = z.infer<typeof rulePatch>;

export const rule = z.object({
  id: z.string(),
  name: z.string(),
  kind: ruleKind,
  project_id: z.string().nullable(),
  params: z.record(z.string(), z.number()),
  for_minutes: z.number(),
  enabled: z.boolean(),
  silenced_until: z.string().nullable(),
  channel_ids: z.array(z.string()),
  /** One of the default rules the installation starts with (can be changed or disabled, not deleted). */
  builtin: z.boolean(),
  created_by: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Rule = z.infer<typeof rule>;

export const alertStatus = z.enum(["pending", "firing", "resolved"]);
export type AlertStatus = z.infer<typeof alertStatus>;

export const alert = z.object({
  id: z.string(),
  rule_id: z.string(),
  rule_name: z.string(),
  kind: ruleKind,
  status: alertStatus,
  target_type: z.enum(["deployment", "project", "worker", "domain"]),
  target_id: z.string(),
  target_name: z.string(),
  project_id: z.string().nullable(),
  summary: z.string(),
  value: z.number().nullable(),
  detail: z.record(z.string(), z.unknown()),
  first_seen: z.string(),
  last_seen: z.string(),
  fired_at: z.string().nullable(),
  resolved_at: z.string().nullable(),
  acked_at: z.string().nullable(),
  acked_by: z.string().nullable(),
  silenced_until: z.string().nullable(),
});
export type Alert = z.infer<typeof alert>;

export const alertQuery = z
  .object({
    /** open = pending or firing. */
    status: z.enum(["open", "pending", "firing", "resolved"]).optional(),
    project: z.string().uuid("must be a UUID").optional(),
    rule: z.string().uuid("must be a UUID").optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
export type AlertQuery = z.infer<typeof alertQuery>;

export const silenceBody = z.object({ until: isoDateTime.nullable() }).strict();
