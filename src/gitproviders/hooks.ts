/**
 * Push webhooks from the providers (verified over the raw body, deduplicated by
 * delivery id), pull-request previews, and commit statuses reported back.
 * Split from service.ts, which keeps links, tokens and project settings.
 */
import type { AppContext } from "../context";
import { audit, type Actor, type Caller } from "../audit/service";
import { BadRequest, Conflict, NotFound, Unauthorized } from "../http/errors";
import { deleteProject, findProject, insertProject, type ProjectRow, type Viewer } from "../projects/queries";
import { projectUrl, remove as removeProject } from "../projects/service";
import { createForTarget } from "../deployments/service";
import { decryptedEnv, put as putEnv } from "../envvars/service";
import { listBuildKeys } from "../envvars/queries";
import type { RequestMeta } from "../sessions/service";
import {
  getCommitSha,
  setCommitStatus,
} from "./providers";
import {
  copyLinkToPreview,
  dueStatuses,
  findHook,
  findLink,
  findPreview,
  forgetDelivery,
  insertPreview,
  markStatusFailed,
  markStatusSent,
  rememberDelivery,
  setPreviewHead,
  wantStatus,
  type PreviewRow,
  type StatusState,
} from "./queries";
import { hookKind, parseEvent, verifyDelivery, type HookEvent, type HookKind } from "./webhooks";
import { deploymentPage, ensureHook, openSecret, withLink } from "./service";

// ---- webhooks ---------------------------------------------------------------------------

export type HookAnswer = { status: number; body: Record<string, unknown> };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One delivery. Answers 401 for a bad or missing signature, 409 for a
 * delivery id seen before, 202 when a deploy started, and 200 for anything
 * acknowledged and ignored (ping, tag, another branch, auto-deploy off).
 */
export async function receiveHook(ctx: AppContext, providerParam: string, hookId: string, headers: Headers, body: Uint8Array, meta: RequestMeta): Promise<HookAnswer> {
  const kind = hookKind(providerParam);
  if (!kind || !UUID.test(hookId)) throw new NotFound("webhook");
  const hook = await findHook(ctx.sql, hookId.toLowerCase());
  if (!hook) throw new NotFound("webhook");
  const v = verifyDelivery(kind, headers, body, openSecret(ctx, hook));
  if (!v.ok) {
    if (v.status === 401) throw new Unauthorized(`webhook refused: ${v.reason}`);
    throw new BadRequest(`webhook refused: ${v.reason}`, "bad_delivery");
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new BadRequest("the webhook body is not JSON (configure the webhook with content type application/json)", "malformed_body");
  }
  if (!(await rememberDelivery(ctx.sql, hook.hook_id, v.deliveryId, v.event)))
    throw new Conflict(`delivery ${v.deliveryId} was already received`, "replayed_delivery");
  try {
    const ev = parseEvent(kind, v.event, json);
    const ignored = (reason: string): HookAnswer => ({ status: 200, body: { result: "ignored", reason } });
    switch (ev.type) {
      case "ping":
        return ignored("ping");
      case "tag":
        return ignored("tag push");
      case "branch_deleted":
        return ignored(`branch ${ev.branch} deleted`);
      case "other":
        return ignored(`event ${ev.name}`);
      case "pull_request":
        return await onPullRequest(ctx, hook, kind, ev, meta);
      case "push": {
        if (hook.repo && ev.repo && ev.repo.toLowerCase() !== hook.repo.toLowerCase()) return ignored(`push to another repository (${ev.repo})`);
        if (ev.branch !== hook.branch) return ignored(`push to ${ev.branch}, the project follows ${hook.branch}`);
        if (!hook.auto_deploy) return ignored("auto-deploy is off for this project");
        const actor: Actor = { id: null, email: `webhook:${kind}`, ip: meta.ip, userAgent: meta.userAgent };
        const d = await createForTarget(ctx, hook.project_id, null, { commit_sha: ev.sha }, actor, {
          trigger: "push",
          branch: ev.branch,
          delivery: v.deliveryId,
        });
        return { status: 202, body: { result: "deploying", deployment_id: d.id, commit_sha: ev.sha } };
      }
    }
  } catch (e) {
    await forgetDelivery(ctx.sql, hook.hook_id, v.deliveryId).catch(() => {});
    throw e;
  }
}

// ---- previews ---------------------------------------------------------------------------------

type Hook = NonNullable<Awaited<ReturnType<typeof findHook>>>;
const ignoredAnswer = (reason: string): HookAnswer => ({ status: 200, body: { result: "ignored", reason } });

/** Acts as the project's owner (previews are the owner's projects), recorded as the webhook. */
const ownerActor = (ownerId: string, kind: string, meta: RequestMeta): Caller => ({ id: ownerId, role: "member", email: `webhook:${kind}`, ip: meta.ip, userAgent: meta.userAgent });

/**
 * A pull/merge request opened or updated: its preview project (made the first
 * time) deploys the request's head commit; closed or merged: the preview
 * project is deleted, and its container and route with it.
 */
async function onPullRequest(ctx: AppContext, hook: Hook, kind: HookKind, ev: Extract<HookEvent, { type: "pull_request" }>, meta: RequestMeta): Promise<HookAnswer> {
  if (ev.action === "close") {
    const pv = await findPreview(ctx.sql, hook.project_id, ev.number);
    if (!pv) return ignoredAnswer(`pull request ${ev.number} has no preview`);
    await removePreview(ctx, pv, ownerActor(hook.owner_id, kind, meta));
    return { status: 200, body: { result: "preview_removed", pr_number: ev.number } };
  }
  if (!hook.previews) return ignoredAnswer("preview deployments are off for this project");
  if (ev.fork) return ignoredAnswer("pull requests from forks get no preview: their code would run with this project's secrets");
  if (hook.repo && ev.repo && ev.repo.toLowerCase() !== hook.repo.toLowerCase()) return ignoredAnswer(`pull request in another repository (${ev.repo})`);
  let sha = ev.sha;
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) {
    // Bitbucket names the head commit by an abbreviated hash: the full one comes from its API.
    const link = hook.link_id ? await findLink(ctx.sql, hook.link_id) : undefined;
    if (!link || !hook.repo) return ignoredAnswer("the pull request names an abbreviated commit; link the repository to resolve it");
    sha = await withLink(ctx, link, (p, token) => getCommitSha(p, token, hook.repo!, ev.sha));
  }
  const actor = ownerActor(hook.owner_id, kind, meta);
  const preview = await ensurePreview(ctx, hook.project_id, ev.number, actor);
  if (typeof preview === "string") return ignoredAnswer(preview);
  const d = await createForTarget(ctx, preview.id, null, { commit_sha: sha }, actor, { trigger: "pull_request", pr_number: ev.number, preview_of: hook.project_id });
  await setPreviewHead(ctx.sql, preview.id, sha);
  return {
    status: 202,
    body: { result: "preview_deploying", pr_number: ev.number, preview_project_id: preview.id, url: projectUrl(ctx, preview.name), deployment_id: d.id, commit_sha: sha },
  };
}

/** The preview project of pull request `n`, made (settings, env and repository link copied) if it has none; or why not. */
async function ensurePreview(ctx: AppContext, parentId: string, n: number, actor: Caller): Promise<{ id: string; name: string } | string> {
  const admin: Viewer = { id: actor.id, role: "admin" };
  const existing = await findPreview(ctx.sql, parentId, n);
  if (existing) {
    const p = await findProject(ctx.sql, admin, existing.preview_project_id);
    if (p) return { id: p.id, name: p.name };
  }
  const parent = await findProject(ctx.sql, admin, parentId);
  if (!parent) throw new NotFound("project");
  const name = `${parent.name}-pr-${n}`;
  if (name.length > 63) return `the preview's name ${name} would be longer than 63 characters`;
  let id: string;
  try {
    id = await insertProject(ctx.sql, parent.owner_id, previewSettings(parent, name));
  } catch (e) {
    if ((e as { code?: string }).code === "23505") return `a project named ${name} already exists`;
    throw e;
  }
  if (!(await insertPreview(ctx.sql, { project_id: parentId, pr_number: n, preview_project_id: id }))) {
    // Another delivery for the same pull request made it first.
    await deleteProject(ctx.sql, id);
    return ensurePreview(ctx, parentId, n, actor);
  }
  await ensureHook(ctx, id);
  await copyLinkToPreview(ctx.sql, parentId, id);
  const env = await decryptedEnv(ctx, parentId);
  if (Object.keys(env).length > 0) await putEnv(ctx, actor, id, env, await listBuildKeys(ctx.sql, parentId));
  await audit(ctx.sql, actor, "git.preview_create", { target_type: "project", target_id: id, detail: { preview_of: parentId, pr_number: n, name } });
  return { id, name };
}

function previewSettings(p: ProjectRow, name: string) {
  return { name, repo_url: p.repo_url, branch: p.branch, dockerfile: p.dockerfile, port: p.port, memory_mb: p.memory_mb, cpus: p.cpus, health_path: p.health_path, build_timeout_s: p.build_timeout_s };
}

export async function removePreview(ctx: AppContext, pv: PreviewRow, actor: Actor): Promise<void> {
  const [p] = await ctx.sql<{ owner_id: string }[]>`SELECT owner_id FROM projects WHERE id = ${pv.preview_project_id}`;
  if (!p) return;
  const caller: Caller = { id: p.owner_id, role: "member", email: actor.email, ip: actor.ip, userAgent: actor.userAgent };
  await removeProject(ctx, caller, pv.preview_project_id);
}

// ---- commit statuses ----------------------------------------------------------------------

const STATE_OF: Partial<Record<string, StatusState>> = {
  queued: "pending",
  building: "pending",
  starting: "pending",
  running: "success",
  failed: "failure",
};
const DESCRIPTION: Record<StatusState, string> = {
  pending: "Deploying on WiseHosting",
  success: "Deployed on WiseHosting",
  failure: "Deployment failed on WiseHosting",
};

/** A deployment changed state: what its commit should show at the provider, if the project is linked. */
export async function onDeploymentEvent(ctx: AppContext, deploymentId: string, status: string): Promise<boolean> {
  const wanted = STATE_OF[status];
  if (!wanted) return false;
  const [row] = await ctx.sql<{ sha: string | null; link_id: string; repo: string }[]>`
    SELECT COALESCE(d.commit_sha, d.requested_sha) AS sha, g.link_id, g.repo
    FROM deployments d JOIN project_git g ON g.project_id = d.project_id
    WHERE d.id = ${deploymentId} AND g.link_id IS NOT NULL AND g.repo IS NOT NULL`;
  if (!row?.sha || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(row.sha)) return false;
  await wantStatus(ctx.sql, { deployment_id: deploymentId, link_id: row.link_id, repo: row.repo, sha: row.sha, wanted });
  return true;
}

/** Sends every commit status that is due; failures are retried later with backoff. */
export async function sendDueStatuses(ctx: AppContext): Promise<void> {
  for (const s of await dueStatuses(ctx.sql)) {
    try {
      const l = await findLink(ctx.sql, s.link_id);
      if (!l) continue;
      // A preview's status links to the preview itself once it runs.
      const live = s.preview && s.wanted === "success";
      const targetUrl = live ? projectUrl(ctx, s.project_name) : deploymentPage(ctx, s.project_id, s.deployment_id);
      const description = live ? "Preview deployed on WiseHosting" : DESCRIPTION[s.wanted];
      await withLink(ctx, l, (p, token) => setCommitStatus(p, token, s.repo, s.sha, { state: s.wanted, targetUrl, description }));
      await markStatusSent(ctx.sql, s.deployment_id, s.wanted, s.sha);
    } catch (e) {
      await markStatusFailed(ctx.sql, s.deployment_id, e instanceof Error ? e.message : String(e));
    }
  }
}

