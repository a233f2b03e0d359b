/** SQL of the git-provider feature: links, link flows, project webhooks, deliveries, commit statuses. */
import type { Sql, TransactionSql } from "postgres";

type Q = Sql | TransactionSql;

export type LinkRow = {
  id: string;
  user_id: string;
  provider: string;
  account_id: string;
  account_login: string;
  access_token_enc: string;
  refresh_token_enc: string | null;
  expires_at: Date | null;
  scopes: string | null;
  status: "active" | "revoked";
  revoked_reason: string | null;
  token_version: number;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
};

export type FlowRow = { provider: string; user_id: string; session_id: string; code_verifier: string; live: boolean };

export type ProjectGitRow = {
  project_id: string;
  hook_id: string;
  secret_enc: string;
  link_id: string | null;
  repo: string | null;
  clone_url: string | null;
  provider_hook_id: string | null;
  hook_error: string | null;
  auto_deploy: boolean;
  previews: boolean;
};

// ---- link flows ------------------------------------------------------------

export async function insertFlow(
  sql: Q,
  f: { state_hash: string; provider: string; user_id: string; session_id: string; code_verifier: string; expires_at: Date },
): Promise<void> {
  await sql`DELETE FROM git_link_flows WHERE expires_at < now()`;
  await sql`INSERT INTO git_link_flows (state_hash, provider, user_id, session_id, code_verifier, expires_at)
    VALUES (${f.state_hash}, ${f.provider}, ${f.user_id}, ${f.session_id}, ${f.code_verifier}, ${f.expires_at})`;
}

/** Takes a flow once: the row is gone whatever happens next. */
export async function takeFlow(sql: Q, stateHash: string, provider: string): Promise<FlowRow | undefined> {
  const [row] = await sql<FlowRow[]>`
    DELETE FROM git_link_flows WHERE state_hash = ${stateHash} AND provider = ${provider}
    RETURNING provider, user_id, session_id, code_verifier, expires_at > now() AS live`;
  return row;
}

// ---- links -------------------------------------------------------------------

/** The link's id for (user, provider, account), if there is one. */
export async function findLinkByAccount(sql: Q, userId: string, provider: string, accountId: string): Promise<LinkRow | undefined> {
  const [row] = await sql<LinkRow[]>`
    SELECT * FROM git_links WHERE user_id = ${userId} AND provider = ${provider} AND account_id = ${accountId}`;
  return row;
}

/** Creates the link, or gives an existing link of the same account fresh tokens (and makes it active again). */
export async function upsertLink(
  sql: Q,
  l: {
    user_id: string;
    provider: string;
    account_id: string;
    account_login: string;
    access_token_enc: string;
    refresh_token_enc: string | null;
    expires_at: Date | null;
    scopes: string | null;
  },
): Promise<LinkRow> {
  const [row] = await sql<LinkRow[]>`
    INSERT INTO git_links (user_id, provider, account_id, account_login, access_token_enc, refresh_token_enc, expires_at, scopes)
    VALUES (${l.user_id}, ${l.provider}, ${l.account_id}, ${l.account_login}, ${l.access_token_enc}, ${l.refresh_token_enc}, ${l.expires_at}, ${l.scopes})
    ON CONFLICT (user_id, provider, account_id) DO UPDATE SET
      account_login = EXCLUDED.account_login,
      access_token_enc = EXCLUDED.access_token_enc,
      refresh_token_enc = EXCLUDED.refresh_token_enc,
      expires_at = EXCLUDED.expires_at,
      scopes = EXCLUDED.scopes,
      status = 'active',
      revoked_reason = NULL,
      token_version = git_links.token_version + 1,
      updated_at = now()
    RETURNING *`;
  return row!;
}

export async function listLinks(sql: Q, userId: string): Promise<LinkRow[]> {
  return sql<LinkRow[]>`SELECT * FROM git_links WHERE user_id = ${userId} ORDER BY created_at, provider`;
}

/** A link of `userId` (links are personal: nobody else, admins included, uses them). */
export async function findOwnLink(sql: Q, userId: string, id: string): Promise<LinkRow | undefined> {
  const [row] = await sql<LinkRow[]>`SELECT * FROM git_links WHERE id = ${id} AND user_id = ${userId}`;
  return row;
}

export async function findLink(sql: Q, id: string): Promise<LinkRow | undefined> {
  const [row] = await sql<LinkRow[]>`SELECT * FROM git_links WHERE id = ${id}`;
  return row;
}

export async function deleteLink(sql: Q, userId: string, id: string): Promise<LinkRow | undefined> {
  const [row] = await sql<LinkRow[]>`DELETE FROM git_links WHERE id = ${id} AND user_id = ${userId} RETURNING *`;
  return row;
}

/** Marks a link revoked once; true when this call did it. */
export async function markRevoked(sql: Q, id: string, reason: string): Promise<boolean> {
  const rows = await sql`
    UPDATE git_links SET status = 'revoked', revoked_reason = ${reason.slice(0, 500)}, updated_at = now()
    WHERE id = ${id} AND status = 'active' RETURNING id`;
  return rows.length === 1;
}

/**
 * Stores refreshed tokens if nobody refreshed since `version` was read
 * (compare-and-swap); returns the new row, or undefined when another refresh won.
 */
export async function storeRefreshed(
  sql: Q,
  id: string,
  version: number,
  t: { access_token_enc: string; refresh_token_enc: string | null; expires_at: Date | null },
): Promise<LinkRow | undefined> {
  const [row] = await sql<LinkRow[]>`
    UPDATE git_links SET access_token_enc = ${t.access_token_enc}, refresh_token_enc = ${t.refresh_token_enc},
      expires_at = ${t.expires_at}, token_version = token_version + 1, updated_at = now()
    WHERE id = ${id} AND token_version = ${version} AND status = 'active' RETURNING *`;
  return row;
}

export async function touchLink(sql: Q, id: string): Promise<void> {
  await sql`UPDATE git_links SET last_used_at = now() WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`;
}

/** Active links whose access token expires within `seconds` and that can be refreshed. */
export async function linksExpiringWithin(sql: Q, seconds: number): Promise<LinkRow[]> {
  return sql<LinkRow[]>`
    SELECT * FROM git_links
    WHERE status = 'active' AND refresh_token_enc IS NOT NULL AND expires_at < now() + make_interval(secs => ${seconds})
    ORDER BY expires_at LIMIT 100`;
}

// ---- project webhooks ---------------------------------------------------------

export async function findProjectGit(sql: Q, projectId: string): Promise<ProjectGitRow | undefined> {
  const [row] = await sql<ProjectGitRow[]>`SELECT * FROM project_git WHERE project_id = ${projectId}`;
  return row;
}

/** The project behind a webhook URL, with what a push needs. */
export async function findHook(sql: Q, hookId: string): Promise<(ProjectGitRow & { branch: string; owner_id: string; name: string }) | undefined> {
  const [row] = await sql<(ProjectGitRow & { branch: string; owner_id: string; name: string })[]>`
    SELECT g.*, p.branch, p.owner_id, p.name FROM project_git g JOIN projects p ON p.id = g.project_id WHERE g.hook_id = ${hookId}`;
  return row;
}

/** Inserts the project's webhook row unless it has one; returns the row either way. */
export async function ensureProjectGit(
  sql: Q,
  r: { project_id: string; hook_id: string; secret_enc: string },
): Promise<ProjectGitRow> {
  await sql`INSERT INTO project_git (project_id, hook_id, secret_enc) VALUES (${r.project_id}, ${r.hook_id}, ${r.secret_enc})
    ON CONFLICT (project_id) DO NOTHING`;
  return (await findProjectGit(sql, r.project_id))!;
}

export async function setProjectLink(
  sql: Q,
  projectId: string,
  l: { link_id: string | null; repo: string | null; clone_url: string | null },
): Promise<void> {
  await sql`UPDATE project_git SET link_id = ${l.link_id}, repo = ${l.repo}, clone_url = ${l.clone_url},
    provider_hook_id = NULL, hook_error = NULL, updated_at = now() WHERE project_id = ${projectId}`;
}

export async function setProviderHook(sql: Q, projectId: string, providerHookId: string | null, error: string | null): Promise<void> {
  await sql`UPDATE project_git SET provider_hook_id = ${providerHookId}, hook_error = ${error?.slice(0, 500) ?? null}, updated_at = now()
    WHERE project_id = ${projectId}`;
}

export async function updateProjectGitSettings(sql: Q, projectId: string, s: { auto_deploy?: boolean; previews?: boolean }): Promise<void> {
  await sql`UPDATE project_git SET auto_deploy = COALESCE(${s.auto_deploy ?? null}::boolean, auto_deploy),
    previews = COALESCE(${s.previews ?? null}::boolean, previews), updated_at = now() WHERE project_id = ${projectId}`;
}

/** Projects whose webhook was created through `linkId`. */
export async function projectsWithLink(sql: Q, linkId: string): Promise<ProjectGitRow[]> {
  return sql<ProjectGitRow[]>`SELECT * FROM project_git WHERE link_id = ${linkId}`;
}

/**
 * The clone credential's inputs for a project's deploy: the link (active)
 * and the clone URL it was made for.
 */
export async function cloneLinkOf(sql: Q, projectId: string): Promise<(LinkRow & { clone_url: string | null; repo_url: string }) | undefined> {
  const [row] = await sql<(LinkRow & { clone_url: string | null; repo_url: string })[]>`
    SELECT l.*, g.clone_url, p.repo_url FROM project_git g
    JOIN git_links l ON l.id = g.link_id JOIN projects p ON p.id = g.project_id
    WHERE g.project_id = ${projectId}`;
  return row;
}

// ---- deliveries ------------------------------------------------------------------

/** Remembers a delivery id; false when it was seen before (a replay). */
export async function rememberDelivery(sql: Q, hookId: string, deliveryId: string, event: string): Promise<boolean> {
  const rows = await sql`
    INSERT INTO git_webhook_deliveries (hook_id, delivery_id, event) VALUES (${hookId}, ${deliveryId}, ${event.slice(0, 64)})
    ON CONFLICT DO NOTHING RETURNING delivery_id`;
  return rows.length === 1;
}

/** Forgets a delivery whose handling failed on our side, so the provider's retry is accepted. */
export async function forgetDelivery(sql: Q, hookId: string, deliveryId: string): Promise<void> {
  await sql`DELETE FROM git_webhook_deliveries WHERE hook_id = ${hookId} AND delivery_id = ${deliveryId}`;
}

export async function pruneDeliveries(sql: Q, olderThanDays: number): Promise<void> {
  await sql`DELETE FROM git_webhook_deliveries WHERE received_at < now() - make_interval(days => ${olderThanDays})`;
}

// ---- commit statuses -------------------------------------------------------------

export type StatusState = "pending" | "success" | "failure";
export type StatusRow = {
  deployment_id: string;
  project_id: string;
  project_name: string;
  /** The deployment is a pull request's preview: the status links to the preview's URL. */
  preview: boolean;
  link_id: string;
  repo: string;
  sha: string;
  wanted: StatusState;
  sent: StatusState | null;
  attempts: number;
};

/**
 * Records the status a deployment's commit should show. A status only moves
 * forward (pending → success | failure), so a late event can't undo a result.
 */
export async function wantStatus(
  sql: Q,
  s: { deployment_id: string; link_id: string; repo: string; sha: string; wanted: StatusState },
): Promise<void> {
  await sql`
    INSERT INTO git_commit_statuses (deployment_id, link_id, repo, sha, wanted)
    VALUES (${s.deployment_id}, ${s.link_id}, ${s.repo}, ${s.sha}, ${s.wanted})
    ON CONFLICT (deployment_id) DO UPDATE SET wanted = EXCLUDED.wanted, sha = EXCLUDED.sha,
      attempts = 0, next_attempt_at = now(), last_error = NULL, updated_at = now()
    WHERE git_commit_statuses.wanted = 'pending' AND (EXCLUDED.wanted <> 'pending' OR git_commit_statuses.sha <> EXCLUDED.sha)`;
}

export async function dueStatuses(sql: Q, limit = 50): Promise<StatusRow[]> {
  return sql<StatusRow[]>`
    SELECT s.deployment_id, d.project_id, p.name AS project_name, (gp.pr_number IS NOT NULL) AS preview,
      s.link_id, s.repo, s.sha, s.wanted, s.sent, s.attempts
    FROM git_commit_statuses s JOIN deployments d ON d.id = s.deployment_id JOIN projects p ON p.id = d.project_id
    LEFT JOIN git_previews gp ON gp.preview_project_id = d.project_id
    WHERE s.sent IS DISTINCT FROM s.wanted AND s.next_attempt_at <= now() AND s.attempts < 8
    ORDER BY s.next_attempt_at LIMIT ${limit}`;
}

/** Records that `state` was sent, if it is still the one wanted (compare-and-swap). */
export async function markStatusSent(sql: Q, deploymentId: string, state: StatusState, sha: string): Promise<void> {
  await sql`UPDATE git_commit_statuses SET sent = ${state}, last_error = NULL, updated_at = now()
    WHERE deployment_id = ${deploymentId} AND wanted = ${state} AND sha = ${sha}`;
}

/** Retries later with exponential backoff (30 s, 1 min, 2 min, … up to 8 attempts). */
export async function markStatusFailed(sql: Q, deploymentId: string, error: string): Promise<void> {
  await sql`UPDATE git_commit_statuses SET attempts = attempts + 1, last_error = ${error.slice(0, 500)},
    next_attempt_at = now() + make_interval(secs => 30 * power(2, attempts)::int), updated_at = now()
    WHERE deployment_id = ${deploymentId}`;
}

// ---- previews ----------------------------------------------------------------------

export type PreviewRow = { project_id: string; pr_number: number; preview_project_id: string; head_sha: string | null };

export async function findPreview(sql: Q, projectId: string, prNumber: number): Promise<PreviewRow | undefined> {
  const [row] = await sql<PreviewRow[]>`
    SELECT project_id, pr_number, preview_project_id, head_sha FROM git_previews WHERE project_id = ${projectId} AND pr_number = ${prNumber}`;
  return row;
}

/** Records a preview project; false when the pull request has one already (a concurrent delivery won). */
export async function insertPreview(sql: Q, r: { project_id: string; pr_number: number; preview_project_id: string }): Promise<boolean> {
  const rows = await sql`
    INSERT INTO git_previews (project_id, pr_number, preview_project_id) VALUES (${r.project_id}, ${r.pr_number}, ${r.preview_project_id})
    ON CONFLICT DO NOTHING RETURNING pr_number`;
  return rows.length === 1;
}

export async function setPreviewHead(sql: Q, previewProjectId: string, sha: string): Promise<void> {
  await sql`UPDATE git_previews SET head_sha = ${sha}, updated_at = now() WHERE preview_project_id = ${previewProjectId}`;
}

export async function previewsOf(sql: Q, projectId: string): Promise<PreviewRow[]> {
  return sql<PreviewRow[]>`SELECT project_id, pr_number, preview_project_id, head_sha FROM git_previews WHERE project_id = ${projectId}`;
}

/** The pull request a preview project stands for, if it is one. */
export async function previewByProject(sql: Q, previewProjectId: string): Promise<PreviewRow | undefined> {
  const [row] = await sql<PreviewRow[]>`
    SELECT project_id, pr_number, preview_project_id, head_sha FROM git_previews WHERE preview_project_id = ${previewProjectId}`;
  return row;
}

/** Copies the webhook link of the parent to a preview (same repository and clone URL, no provider webhook, no auto-deploy). */
export async function copyLinkToPreview(sql: Q, parentId: string, previewId: string): Promise<void> {
  await sql`UPDATE project_git c SET link_id = p.link_id, repo = p.repo, clone_url = p.clone_url, auto_deploy = false, previews = false, updated_at = now()
    FROM project_git p WHERE p.project_id = ${parentId} AND c.project_id = ${previewId}`;
}
