/**
 * Per-user quotas, set by an admin: max projects, max memory per app, max
 * total memory (the sum of memory_mb over the user's projects) and max
 * concurrent builds (deployments queued or building). The project and
 * deployment services call {@link enforceQuota} before they write anything,
 * so a refused request creates nothing. The limits are the project owner's,
 * whoever makes the request.
 */
import type { AppContext } from "../context";
import { ApiError, NotFound } from "../http/errors";
import { audit, type Caller } from "../audit/service";
import type { QuotaLimits, QuotaName, QuotaView } from "./model";
import { deleteQuota, findQuota, projectForQuota, quotaFigures, upsertQuota, userExists } from "./queries";

/** 403 naming the limit, its value and the current figure. */
export class QuotaExceeded extends ApiError {
  constructor(
    readonly limit: QuotaName,
    readonly max: number,
    readonly current: number,
    message: string,
  ) {
    super(403, "quota_exceeded", `quota ${limit} exceeded: ${message}`);
  }
}

export type QuotaCheck =
  /** A new project of `memory_mb` for `owner_id`. */
  | { op: "project.create"; owner_id: string; memory_mb: number }
  /** A project's memory changing to `memory_mb`; `viewer` must see it (else the normal 404 follows). */
  | { op: "project.update"; viewer: { id: string; role: "admin" | "member" }; project_id: string; memory_mb: number }
  /** A new deployment (deploy or rollback) of a project the caller already saw. */
  | { op: "deployment.create"; project_id: string };

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Throws {@link QuotaExceeded} when the change would go over one of the owner's limits. */
export async function enforceQuota(ctx: Pick<AppContext, "sql">, check: QuotaCheck): Promise<void> {
  let owner: string;
  let memory: number;
  let current: number | null = null; // the project's memory now, for an update
  if (check.op === "project.create") {
    owner = check.owner_id;
    memory = check.memory_mb;
  } else {
    const p = await projectForQuota(ctx.sql, check.project_id, check.op === "project.update" ? check.viewer : null);
    if (!p) return;
    owner = p.owner_id;
    memory = check.op === "project.update" ? check.memory_mb : p.memory_mb;
    current = p.memory_mb;
  }
  const q = await findQuota(ctx.sql, owner);
  if (!q) return;
  const { max_projects, max_app_memory_mb, max_total_memory_mb, max_concurrent_builds } = q;
  if (max_projects === null && max_app_memory_mb === null && max_total_memory_mb === null && max_concurrent_builds === null) return;
  const project = check.op === "project.create" ? null : check.project_id;
  const f = await quotaFigures(ctx.sql, owner, project);

  if (check.op === "project.create" && max_projects !== null && f.projects + 1 > max_projects)
    throw new QuotaExceeded("max_projects", max_projects, f.projects, `${plural(f.projects, "project")} in use, the limit is ${max_projects}`);

  // An update that doesn't raise memory is always allowed, even if the limits were lowered since.
  const raises = check.op !== "project.update" || current === null || memory > current;
  if (max_app_memory_mb !== null && raises && memory > max_app_memory_mb)
    throw new QuotaExceeded("max_app_memory_mb", max_app_memory_mb, memory, `${memory} MB for one app, the limit is ${max_app_memory_mb} MB per app`);
  if (max_total_memory_mb !== null && raises && f.total_memory_mb + memory > max_total_memory_mb) {
    const inUse = f.total_memory_mb + (current ?? 0);
    throw new QuotaExceeded(
      "max_total_memory_mb",
      max_total_memory_mb,
      inUse,
      `${inUse} MB in use by your apps, ${f.total_memory_mb + memory} MB with this change, the limit is ${max_total_memory_mb} MB`,
    );
  }

  if (check.op === "deployment.create" && max_concurrent_builds !== null && f.concurrent_builds + 1 > max_concurrent_builds)
    throw new QuotaExceeded(
      "max_concurrent_builds",
      max_concurrent_builds,
      f.concurrent_builds,
      `${plural(f.concurrent_builds, "build")} queued or running, the limit is ${max_concurrent_builds}`,
    );
}

export async function quotaView(ctx: Pick<AppContext, "sql">, userId: string): Promise<QuotaView> {
  const [q, f] = await Promise.all([findQuota(ctx.sql, userId), quotaFigures(ctx.sql, userId)]);
  return {
    user_id: userId,
    limits: {
      max_projects: q?.max_projects ?? null,
      max_app_memory_mb: q?.max_app_memory_mb ?? null,
      max_total_memory_mb: q?.max_total_memory_mb ?? null,
      max_concurrent_builds: q?.max_concurrent_builds ?? null,
    },
    current: f,
    updated_at: q ? q.updated_at.toISOString() : null,
  };
}

export async function getQuota(ctx: Pick<AppContext, "sql">, userId: string): Promise<QuotaView> {
  if (!(await userExists(ctx.sql, userId))) throw new NotFound("user");
  return quotaView(ctx, userId);
}

/** Replaces a user's limits (admin). Existing projects over a new limit stay; new requests are refused. */
export async function setQuota(ctx: Pick<AppContext, "sql">, caller: Caller, userId: string, limits: QuotaLimits): Promise<QuotaView> {
  if (!(await userExists(ctx.sql, userId))) throw new NotFound("user");
  await upsertQuota(ctx.sql, userId, limits, caller.id);
  await audit(ctx.sql, caller, "quota.update", { target_type: "user", target_id: userId, detail: { ...limits } });
  return quotaView(ctx, userId);
}

/** Removes every limit of a user (admin). */
export async function clearQuota(ctx: Pick<AppContext, "sql">, caller: Caller, userId: string): Promise<void> {
  if (!(await userExists(ctx.sql, userId))) throw new NotFound("user");
  await deleteQuota(ctx.sql, userId);
  await audit(ctx.sql, caller, "quota.clear", { target_type: "user", target_id: userId });
}
