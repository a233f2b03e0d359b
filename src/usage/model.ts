/** Usage and quota shapes (zod only: the dashboard imports the types). */
import { z } from "zod";

export const usageQuery = z
  .object({
    /** ISO times; default the current calendar month (UTC) up to now. Rounded out to whole hours. */
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    project: z.string().uuid("must be a UUID").optional(),
    /** Admins: only this user's projects. */
    user: z.string().uuid("must be a UUID").optional(),
    format: z.enum(["json", "csv"]).default("json"),
  })
  .strict();
export type UsageQuery = z.infer<typeof usageQuery>;

/** The figures usage is counted in. MB are MiB, as in memory_mb. */
export const usageFigures = z.object({
  cpu_seconds: z.number(),
  /** Memory limit held × hours running. */
  memory_limit_mb_hours: z.number(),
  /** Memory actually used × hours. */
  memory_mb_hours: z.number(),
  net_rx_bytes: z.number(),
  net_tx_bytes: z.number(),
  /** From each deployment's building_at to starting_at (or failed_at). */
  build_minutes: z.number(),
  container_hours: z.number(),
});
export type UsageFigures = z.infer<typeof usageFigures>;

export const usageRow = usageFigures.extend({
  /** Start of the hour, ISO. */
  hour: z.string(),
  project_id: z.string(),
  /** null once the project is deleted (its usage stays). */
  project_name: z.string().nullable(),
  owner_id: z.string(),
});
export type UsageRow = z.infer<typeof usageRow>;

export const usageReport = z.object({
  from: z.string(),
  to: z.string(),
  /** Per project per hour, oldest first; hours without use are left out. */
  rows: z.array(usageRow),
  projects: z.array(usageFigures.extend({ project_id: z.string(), project_name: z.string().nullable(), owner_id: z.string() })),
  /** Sums of `rows`. */
  total: usageFigures,
  /** Admins only: per owner. */
  users: z.array(usageFigures.extend({ user_id: z.string(), email: z.string().nullable() })).optional(),
});
export type UsageReport = z.infer<typeof usageReport>;

// ---- quotas --------------------------------------------------------------

const limit = z.number().int().min(0).max(1_000_000).nullable();

/** Every limit; null = no limit. PUT replaces all four (a missing one means none). */
export const quotaLimits = z
  .object({
    max_projects: limit.default(null),
    max_app_memory_mb: limit.default(null),
    max_total_memory_mb: limit.default(null),
    max_concurrent_builds: limit.default(null),
  })
  .strict();
export type QuotaLimits = z.infer<typeof quotaLimits>;
export type QuotaName = keyof QuotaLimits;

export const quotaView = z.object({
  user_id: z.string(),
  limits: z.object({
    max_projects: z.number().nullable(),
    max_app_memory_mb: z.number().nullable(),
    max_total_memory_mb: z.number().nullable(),
    max_concurrent_builds: z.number().nullable(),
  }),
  /** The figures each limit is checked against. */
  current: z.object({
    projects: z.number(),
    largest_app_memory_mb: z.number(),
    total_memory_mb: z.number(),
    concurrent_builds: z.number(),
  }),
  updated_at: z.string().nullable(),
});
export type QuotaView = z.infer<typeof quotaView>;
