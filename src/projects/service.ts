/** Projects: create, read, change and delete, scoped to their owner. */
import type { AppContext } from "../context";
import { splitHostPort } from "../config";
import { BadRequest, Conflict, NotFound } from "../http/errors";
import type { Project, ProjectCreate, ProjectPatch } from "../protocol/api";
import { repoUrlProblem } from "../protocol/repo-url";
import { deleteProject, findProject, insertProject, listProjects, updateProject, type ProjectRow, type Viewer } from "./queries";
import { releaseAllForProject } from "../deployments/queries";
import { audit, type Caller } from "../audit/service";
import { enforceQuota } from "../usage/quotas";
import { attachOnCreate, beforeProjectDelete } from "../gitproviders/service";

/** The URL a project is served at: through Caddy (https unless TLS is off) or the built-in ingress. */
export function projectUrl(ctx: Pick<AppContext, "config">, name: string): string {
  const c = ctx.config;
  if (c.WH_CADDY_ADMIN_URL) return `${c.WH_CADDY_TLS === "off" ? "http" : "https"}://${name}.${c.WH_APPS_DOMAIN}`;
  const { port } = splitHostPort(c.WH_INGRESS_LISTEN);
  return `http://${name}.${c.WH_APPS_DOMAIN}${port === 80 ? "" : `:${port}`}`;
}

export function toProject(ctx: Pick<AppContext, "config">, r: ProjectRow): Project {
  return {
    id: r.id,
    name: r.name,
    repo_url: r.repo_url,
    branch: r.branch,
    dockerfile: r.dockerfile,
    port: r.port,
    memory_mb: r.memory_mb,
    cpus: r.cpus,
    health_path: r.health_path,
    build_timeout_s: r.build_timeout_s,
    url: projectUrl(ctx, r.name),
    status: r.current_status ?? "new",
    current_deployment_id: r.current_deployment_id,
    worker_id: r.worker_id,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

function checkRepoUrl(ctx: AppContext, url: string | undefined) {
  if (url === undefined) return;
  const problem = repoUrlProblem(url, ctx.config.WH_ALLOW_LOCAL_REPOS);
  if (problem) throw new BadRequest(`repo_url: ${problem}`);
}

const isUniqueViolation = (e: unknown) => (e as { code?: string }).code === "23505";

export async function getProject(ctx: AppContext, v: Viewer, id: string): Promise<ProjectRow> {
  const row = await findProject(ctx.sql, v, id);
  if (!row) throw new NotFound("project");
  return row;
}

export async function list(ctx: AppContext, v: Viewer): Promise<Project[]> {
  return (await listProjects(ctx.sql, v)).map((r) => toProject(ctx, r));
}

export async function create(ctx: AppContext, v: Caller, input: ProjectCreate): Promise<Project> {
  checkRepoUrl(ctx, input.repo_url);
  await enforceQuota(ctx, { op: "project.create", owner_id: v.id, memory_mb: input.memory_mb }); // quota (usage feature)
  try {
    const id = await insertProject(ctx.sql, v.id, input);
    // A repository at a linked git account: checked, then its webhook made; a refusal drops the new project.
    if (input.git) await attachOnCreate(ctx, v, id, input).catch(async (e) => { await deleteProject(ctx.sql, id); throw e; });
    await audit(ctx.sql, v, "project.create", { target_type: "project", target_id: id, detail: { name: input.name, repo_url: input.repo_url } });
    return toProject(ctx, await getProject(ctx, v, id));
  } catch (e) {
    if (isUniqueViolation(e)) throw new Conflict(`name: a project named ${input.name} already exists`, "name_taken");
    throw e;
  }
}

export async function patch(ctx: AppContext, v: Caller, id: string, input: ProjectPatch): Promise<Project> {
  checkRepoUrl(ctx, input.repo_url);
  if (input.memory_mb !== undefined) await enforceQuota(ctx, { op: "project.update", viewer: v, project_id: id, memory_mb: input.memory_mb }); // quota (usage feature)
  try {
    if (!(await updateProject(ctx.sql, v, id, input))) throw new NotFound("project");
    await audit(ctx.sql, v, "project.update", { target_type: "project", target_id: id, detail: { fields: Object.keys(input) } });
  } catch (e) {
    if (isUniqueViolation(e)) throw new Conflict(`name: a project named ${input.name} already exists`, "name_taken");
    throw e;
  }
  ctx.events.emit("routes", {});
  return toProject(ctx, await getProject(ctx, v, id));
}

/**
 * Deletes the project and its deployments; every container it had is removed
 * on its worker now, or by reconciliation when that worker reconnects.
 */
export async function remove(ctx: AppContext, v: Caller, id: string): Promise<void> {
  const p = await getProject(ctx, v, id);
  await beforeProjectDelete(ctx, id); // its webhook at a linked git provider (best effort, never throws)
  const placed = await ctx.sql.begin(async (tx) => {
    const released = await releaseAllForProject(tx as never, id);
    await deleteProject(tx as never, id);
    await audit(tx, v, "project.delete", { target_type: "project", target_id: id, detail: { name: p.name } });
    return released;
  });
  await ctx.events.emitAndWait("routes", {});
  for (const d of placed) if (d.worker_id) ctx.hub.send(d.worker_id, "job.remove", { deployment_id: d.id });
  ctx.events.emit("schedule", {});
}
