/**
 * Linked git providers and push-to-deploy.
 *
 * Linking: a signed-in browser session starts an OAuth authorization-code
 * flow (state + PKCE where the provider supports it); the flow row is bound to
 * that session and taken once by the callback, which must come back in the
 * same session. A link never signs anyone in. Tokens are stored AES-256-GCM
 * encrypted (purpose "git-token") and refreshed shortly before they expire; a
 * provider that refuses a token (or its refresh) turns the link "revoked".
 *
 * Projects: each project has a webhook URL and secret (purpose
 * "webhook-secret"). A project created from a linked repository gets the
 * webhook created through the provider's API (removed again on deletion) and
 * its deploys' commit statuses reported back; others paste URL and secret.
 *
 * Deliveries, previews and commit statuses are in hooks.ts.
 */
import { createHash, randomBytes } from "node:crypto";
import type { AppContext } from "../context";
import { audit, SYSTEM_ACTOR, type Actor, type Caller } from "../audit/service";
import { decrypt, encrypt } from "../crypto";
import { ApiError, BadRequest, Conflict, Forbidden, NotFound } from "../http/errors";
import { sha256Hex } from "../protocol/hub";
import { findProject, type Viewer } from "../projects/queries";
import { resolveSession, type RequestMeta } from "../sessions/service";
import type { CallbackQuery, GitLink, ProjectGit, ProjectGitInput, ProjectGitPatch, Repo } from "./model";
import {
  authorizeUrl,
  CLONE_USERNAME,
  configuredProviders,
  createHook,
  currentUser,
  deleteHook,
  exchangeCode,
  getRepo,
  GrantRefused,
  listBranches,
  listRepos,
  providerById,
  refreshToken,
  revokeToken,
  TokenRejected,
  type Provider,
} from "./providers";
import {
  cloneLinkOf,
  deleteLink,
  ensureProjectGit,
  findLink,
  findOwnLink,
  findProjectGit,
  insertFlow,
  linksExpiringWithin,
  listLinks,
  markRevoked,
  previewByProject,
  previewsOf,
  projectsWithLink,
  setProjectLink,
  setProviderHook,
  storeRefreshed,
  takeFlow,
  touchLink,
  updateProjectGitSettings,
  upsertLink,
  type LinkRow,
  type PreviewRow,
  type ProjectGitRow,
  } from "./queries";
import { type HookKind } from "./webhooks";
import { removePreview } from "./hooks";

export const FLOW_LIFETIME_S = 10 * 60;
/** Access tokens are refreshed when they expire within this many seconds. */
export const REFRESH_MARGIN_S = 5 * 60;

const random = () => randomBytes(32).toString("base64url");
const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");

export const callbackUrl = (ctx: AppContext, providerId: string) => `${ctx.config.publicUrl}/v1/git-providers/${providerId}/callback`;

/** The webhook URL of a project for each payload format. */
export function webhookUrls(ctx: AppContext, hookId: string): Record<HookKind, string> {
  const u = (k: HookKind) => `${ctx.config.publicUrl}/v1/hooks/${k}/${hookId}`;
  return { github: u("github"), gitlab: u("gitlab"), bitbucket: u("bitbucket"), gitea: u("gitea") };
}

/** Where a commit status links to: the deployment on the dashboard. */
export const deploymentPage = (ctx: AppContext, projectId: string, deploymentId: string) =>
  `${ctx.config.publicUrl}/projects/${projectId}?deployment=${deploymentId}`;

// ---- providers ------------------------------------------------------------------

export function listProviders(ctx: AppContext) {
  return configuredProviders(ctx.config).map((p) => ({ id: p.id, kind: p.kind, name: p.name, url: p.webUrl }));
}

// ---- linking ---------------------------------------------------------------------

/** Starts linking: only from a browser session (the flow is bound to it). Returns where to send the browser. */
export async function startLink(ctx: AppContext, user: { id: string; sessionId: string | null }, providerId: string): Promise<string> {
  const p = providerById(ctx.config, providerId);
  if (!user.sessionId) throw new BadRequest("link a git account from a signed-in browser session, not with an API token", "session_required");
  const state = random();
  const verifier = random();
  await insertFlow(ctx.sql, {
    state_hash: sha256Hex(state),
    provider: p.id,
    user_id: user.id,
    session_id: user.sessionId,
    code_verifier: verifier,
    expires_at: new Date(Date.now() + FLOW_LIFETIME_S * 1000),
  });
  return authorizeUrl(p, { state, redirectUri: callbackUrl(ctx, p.id), codeChallenge: s256(verifier) });
}

/** A refused link callback: `code` says why (also the audit reason). */
export class LinkRefused extends ApiError {
  constructor(status: number, code: string, message: string) {
    super(status, code, message);
  }
}

const aad = (l: { user_id: string; provider: string; account_id: string }, which: "access" | "refresh") =>
  `git-link:${l.user_id}:${l.provider}:${l.account_id}:${which}`;

const expiry = (expiresIn: number | undefined) => (expiresIn ? new Date(Date.now() + expiresIn * 1000) : null);

/**
 * The provider sent the browser back. The flow must exist, be live, and
 * belong to the very session the browser holds now; then the code is
 * exchanged, the account read, and the link stored. Never signs anyone in.
 */
export async function finishLink(ctx: AppContext, providerId: string, query: CallbackQuery, sessionCookie: string | null, meta: RequestMeta): Promise<GitLink> {
  const p = providerById(ctx.config, providerId);
  let who: Actor = { id: null, email: null, ...meta };
  try {
    if (!query.state) throw new LinkRefused(400, "missing_state", "the provider's answer has no state");
    const flow = await takeFlow(ctx.sql, sha256Hex(query.state), p.id);
    if (!flow) throw new LinkRefused(400, "unknown_state", "this link request is unknown or was already used; start again");
    who = { ...who, id: flow.user_id };
    if (!flow.live) throw new LinkRefused(400, "flow_expired", "linking took more than 10 minutes; start again");
    const session = sessionCookie ? await resolveSession(ctx, sessionCookie) : undefined;
    if (!session) throw new LinkRefused(401, "not_signed_in", "sign in first; a git link can't be used to sign in");
    if (session.id !== flow.session_id || session.user_id !== flow.user_id)
      throw new LinkRefused(403, "session_mismatch", "this link was started in another session; start again");
    who = { ...who, email: session.email };
    if (query.error) throw new LinkRefused(400, "provider_error", `${p.name} refused (${query.error.replace(/[^\w.-]/g, "").slice(0, 64)})`);
    if (!query.code) throw new LinkRefused(400, "missing_code", "the provider's answer has no code");

    let tokens;
    try {
      tokens = await exchangeCode(p, { code: query.code, redirectUri: callbackUrl(ctx, p.id), codeVerifier: flow.code_verifier });
    } catch (e) {
      if (e instanceof GrantRefused) throw new LinkRefused(400, "token_exchange_failed", e.message);
      throw e;
    }
    const account = await currentUser(p, tokens.access_token);
    const key = { user_id: flow.user_id, provider: p.id, account_id: account.id };
    const row = await upsertLink(ctx.sql, {
      ...key,
      account_login: account.login.slice(0, 200),
      access_token_enc: encrypt(ctx.config.masterKey, "git-token", tokens.access_token, aad(key, "access")),
      refresh_token_enc: tokens.refresh_token ? encrypt(ctx.config.masterKey, "git-token", tokens.refresh_token, aad(key, "refresh")) : null,
      expires_at: expiry(tokens.expires_in),
      scopes: (tokens.scope ?? tokens.scopes ?? null)?.slice(0, 500) ?? null,
    });
    await audit(ctx.sql, who, "git.link", { target_type: "git_link", target_id: row.id, detail: { provider: p.id, account: row.account_login } });
    return toLink(ctx, row);
  } catch (e) {
    const reason = e instanceof ApiError ? e.code : "internal";
    await audit(ctx.sql, who, "git.link_failed", { outcome: "failure", detail: { provider: p.id, reason } });
    throw e;
  }
}

export function toLink(ctx: AppContext, r: LinkRow): GitLink {
  const p = configuredProviders(ctx.config).find((x) => x.id === r.provider);
  return {
    id: r.id,
    provider: r.provider as GitLink["provider"],
    provider_name: p?.name ?? r.provider,
    account_login: r.account_login,
    status: r.status,
    revoked_reason: r.revoked_reason,
    provider_configured: p !== undefined,
    expires_at: r.expires_at?.toISOString() ?? null,
    created_at: r.created_at.toISOString(),
    last_used_at: r.last_used_at?.toISOString() ?? null,
  };
}

export async function links(ctx: AppContext, userId: string): Promise<GitLink[]> {
  return (await listLinks(ctx.sql, userId)).map((r) => toLink(ctx, r));
}

async function ownLink(ctx: AppContext, userId: string, id: string): Promise<LinkRow> {
  const l = await findOwnLink(ctx.sql, userId, id);
  if (!l) throw new NotFound("git link");
  return l;
}

/**
 * Unlinks: the webhooks made through this link are removed at the provider
 * (best effort), the token is revoked there where the provider allows it,
 * and the row is deleted. Projects keep their webhook URL and secret.
 */
export async function unlink(ctx: AppContext, caller: Caller, id: string): Promise<void> {
  const l = await ownLink(ctx, caller.id, id);
  for (const g of await projectsWithLink(ctx.sql, l.id)) await removeProviderHook(ctx, g, l).catch(() => {});
  const p = configuredProviders(ctx.config).find((x) => x.id === l.provider);
  if (p && l.status === "active") {
    const token = (() => {
      try {
        return decrypt(ctx.config.masterKey, "git-token", l.access_token_enc, aad(l, "access"));
      } catch {
        return null;
      }
    })();
    if (token) await revokeToken(p, token);
  }
  if (!(await deleteLink(ctx.sql, caller.id, id))) throw new NotFound("git link");
  await audit(ctx.sql, caller, "git.unlink", { target_type: "git_link", target_id: id, detail: { provider: l.provider, account: l.account_login } });
}

// ---- tokens ------------------------------------------------------------------------

const refreshing = new Map<string, Promise<LinkRow>>();

async function revokeLink(ctx: AppContext, l: LinkRow, reason: string): Promise<void> {
  if (await markRevoked(ctx.sql, l.id, reason))
    await audit(ctx.sql, SYSTEM_ACTOR, "git.link_revoked", { outcome: "failure", target_type: "git_link", target_id: l.id, detail: { provider: l.provider, reason } });
}

function providerOf(ctx: AppContext, l: LinkRow): Provider {
  const p = configuredProviders(ctx.config).find((x) => x.id === l.provider);
  if (!p) throw new Conflict(`the ${l.provider} provider is no longer configured on this server`, "provider_not_configured");
  return p;
}

const plainAccess = (ctx: AppContext, l: LinkRow) => decrypt(ctx.config.masterKey, "git-token", l.access_token_enc, aad(l, "access"));
const needsRefresh = (l: LinkRow, marginS = REFRESH_MARGIN_S) => l.expires_at !== null && l.expires_at.getTime() - Date.now() < marginS * 1000;

/** Refreshes the link's token now (one refresh per link at a time in this process; CAS across processes). */
export async function refreshLink(ctx: AppContext, l: LinkRow, marginS = REFRESH_MARGIN_S): Promise<LinkRow> {
  let running = refreshing.get(l.id);
  if (!running) {
    running = doRefresh(ctx, l.id, marginS).finally(() => refreshing.delete(l.id));
    refreshing.set(l.id, running);
  }
  return running;
}

async function doRefresh(ctx: AppContext, id: string, marginS: number): Promise<LinkRow> {
  const cur = await findLink(ctx.sql, id);
  if (!cur) throw new NotFound("git link");
  if (cur.status !== "active") throw new TokenRejected(`the ${cur.provider} link is revoked; link the account again`);
  if (!needsRefresh(cur, marginS)) return cur; // someone else refreshed meanwhile
  const p = providerOf(ctx, cur);
  if (!cur.refresh_token_enc) {
    if (cur.expires_at!.getTime() <= Date.now()) {
      await revokeLink(ctx, cur, "the token expired and the provider gave no refresh token");
      throw new TokenRejected(`the ${p.name} token expired; link the account again`);
    }
    return cur;
  }
  const refresh = decrypt(ctx.config.masterKey, "git-token", cur.refresh_token_enc, aad(cur, "refresh"));
  let t;
  try {
    t = await refreshToken(p, { refreshToken: refresh, redirectUri: callbackUrl(ctx, p.id) });
  } catch (e) {
    if (e instanceof GrantRefused) {
      // Another control plane may have used (and rotated) the same refresh token a moment ago.
      const again = await findLink(ctx.sql, id);
      if (again && again.token_version !== cur.token_version && again.status === "active") return again;
      await revokeLink(ctx, cur, "the provider refused the refresh token");
      throw new TokenRejected(`${p.name} refused to refresh the token; link the account again`);
    }
    // Unreachable provider: the current token may still do until it really expires.
    if (cur.expires_at!.getTime() > Date.now()) return cur;
    throw e;
  }
  const stored = await storeRefreshed(ctx.sql, id, cur.token_version, {
    access_token_enc: encrypt(ctx.config.masterKey, "git-token", t.access_token, aad(cur, "access")),
    // A provider that doesn't rotate refresh tokens keeps the old one valid.
    refresh_token_enc: t.refresh_token ? encrypt(ctx.config.masterKey, "git-token", t.refresh_token, aad(cur, "refresh")) : cur.refresh_token_enc,
    expires_at: expiry(t.expires_in),
  });
  return stored ?? (await findLink(ctx.sql, id))!;
}

/** A usable access token for the link, refreshed first when it is about to expire. */
export async function accessToken(ctx: AppContext, l: LinkRow): Promise<{ token: string; link: LinkRow; provider: Provider }> {
  const provider = providerOf(ctx, l);
  if (l.status !== "active") throw new TokenRejected(`the ${provider.name} link is revoked; link the account again`);
  const fresh = needsRefresh(l) ? await refreshLink(ctx, l) : l;
  return { token: plainAccess(ctx, fresh), link: fresh, provider };
}

/** Runs a provider call with the link's token; a refused token marks the link revoked. */
export async function withLink<T>(ctx: AppContext, l: LinkRow, fn: (p: Provider, token: string) => Promise<T>): Promise<T> {
  const { token, link, provider } = await accessToken(ctx, l);
  try {
    const r = await fn(provider, token);
    await touchLink(ctx.sql, link.id);
    return r;
  } catch (e) {
    if (e instanceof TokenRejected) await revokeLink(ctx, link, "the provider refused the token");
    throw e;
  }
}

export async function repos(ctx: AppContext, userId: string, linkId: string, query: string): Promise<Repo[]> {
  const l = await ownLink(ctx, userId, linkId);
  return withLink(ctx, l, (p, token) => listRepos(p, token, query));
}

export async function branches(ctx: AppContext, userId: string, linkId: string, repo: string) {
  const l = await ownLink(ctx, userId, linkId);
  return withLink(ctx, l, (p, token) => listBranches(p, token, repo));
}

/** Refreshes every token that expires within `withinS` (the background job). */
export async function refreshExpiring(ctx: AppContext, withinS = 10 * 60): Promise<void> {
  for (const l of await linksExpiringWithin(ctx.sql, withinS)) {
    if (!configuredProviders(ctx.config).some((p) => p.id === l.provider)) continue;
    try {
      await refreshLink(ctx, l, withinS);
    } catch (e) {
      if (!(e instanceof TokenRejected)) console.warn(`[gitproviders] refreshing link ${l.id} failed: ${(e as Error).message}`);
    }
  }
}

// ---- clone credential ---------------------------------------------------------------

/** Same repository, whatever the spelling: lowercase scheme and host, no trailing ".git" or "/". */
export function sameRepoUrl(a: string, b: string): boolean {
  const norm = (s: string) => {
    try {
      const u = new URL(s);
      return `${u.protocol}//${u.host}${u.pathname}`.replace(/\/+$/, "").replace(/\.git$/, "").toLowerCase();
    } catch {
      return s;
    }
  };
  return norm(a) === norm(b);
}

/**
 * The credential git needs to clone a project's private repository, for its
 * deploy job only: present when the project is linked through an active
 * link and its repo_url is still the clone URL the link was made for (a
 * changed repo_url never receives the token).
 */
export async function cloneCredential(ctx: AppContext, projectId: string): Promise<{ username: string; token: string } | undefined> {
  const l = await cloneLinkOf(ctx.sql, projectId);
  if (!l || l.status !== "active" || !l.clone_url || !sameRepoUrl(l.clone_url, l.repo_url)) return undefined;
  try {
    const { token, provider } = await accessToken(ctx, l);
    await touchLink(ctx.sql, l.id);
    return { username: CLONE_USERNAME[provider.kind], token };
  } catch (e) {
    console.warn(`[gitproviders] no clone credential for project ${projectId}: ${(e as Error).message}`);
    return undefined;
  }
}

// ---- projects ------------------------------------------------------------------------

const sealSecret = (ctx: AppContext, hookId: string, secret: string) => encrypt(ctx.config.masterKey, "webhook-secret", secret, hookId);
export const openSecret = (ctx: AppContext, g: { hook_id: string; secret_enc: string }) => decrypt(ctx.config.masterKey, "webhook-secret", g.secret_enc, g.hook_id);

/** The project's webhook row, made (with a fresh secret) the first time it is needed. */
export async function ensureHook(ctx: AppContext, projectId: string): Promise<ProjectGitRow> {
  const existing = await findProjectGit(ctx.sql, projectId);
  if (existing) return existing;
  const hookId = crypto.randomUUID();
  return ensureProjectGit(ctx.sql, { project_id: projectId, hook_id: hookId, secret_enc: sealSecret(ctx, hookId, randomBytes(32).toString("hex")) });
}

/** Checks that `caller` may use link `linkId` for `repo`, and that `repoUrl` is that repository's clone URL. */
async function resolveRepo(ctx: AppContext, caller: Caller, linkId: string, repo: string, repoUrl: string, field: string): Promise<{ link: LinkRow; repo: Repo }> {
  const link = await findOwnLink(ctx.sql, caller.id, linkId);
  if (!link) throw new BadRequest(`${field}.link_id: no such linked git account of yours`);
  if (link.status !== "active") throw new BadRequest(`${field}.link_id: that link is revoked; link the account again`);
  let r: Repo;
  try {
    r = await withLink(ctx, link, (p, token) => getRepo(p, token, repo));
  } catch (e) {
    if (e instanceof NotFound) throw new BadRequest(`${field}.repo: ${repo} not found with that linked account`);
    throw e;
  }
  if (!sameRepoUrl(r.clone_url, repoUrl)) throw new BadRequest(`repo_url: must be ${repo}'s clone URL (${r.clone_url})`);
  return { link, repo: r };
}

/** Creates the webhook at the provider; failure is recorded on the project (and shown), not thrown. */
async function installProviderHook(ctx: AppContext, actor: Actor, g: ProjectGitRow, link: LinkRow, repo: string): Promise<void> {
  try {
    const kind = providerOf(ctx, link).kind;
    const id = await withLink(ctx, link, (p, token) => createHook(p, token, repo, { url: webhookUrls(ctx, g.hook_id)[kind], secret: openSecret(ctx, g) }));
    await setProviderHook(ctx.sql, g.project_id, id, null);
    await audit(ctx.sql, actor, "git.webhook_create", { target_type: "project", target_id: g.project_id, detail: { provider: link.provider, repo, hook: id } });
  } catch (e) {
    const msg = e instanceof ApiError ? e.message : "internal error";
    await setProviderHook(ctx.sql, g.project_id, null, msg);
    await audit(ctx.sql, actor, "git.webhook_create", { outcome: "failure", target_type: "project", target_id: g.project_id, detail: { provider: link.provider, repo, reason: msg } });
  }
}

async function removeProviderHook(ctx: AppContext, g: ProjectGitRow, link?: LinkRow): Promise<void> {
  if (!g.provider_hook_id || !g.repo || !g.link_id) return;
  const l = link ?? (await findLink(ctx.sql, g.link_id));
  if (!l || l.status !== "active") return;
  await withLink(ctx, l, (p, token) => deleteHook(p, token, g.repo!, g.provider_hook_id!));
  await setProviderHook(ctx.sql, g.project_id, null, null);
  await audit(ctx.sql, SYSTEM_ACTOR, "git.webhook_delete", { target_type: "project", target_id: g.project_id, detail: { provider: l.provider, repo: g.repo } });
}

/**
 * A new project named a repository at a linked account: validates it (a
 * refusal throws, and the caller drops the new project), then records the
 * link and creates the webhook through the provider's API.
 */
export async function attachOnCreate(ctx: AppContext, caller: Caller, projectId: string, input: { repo_url: string; git?: ProjectGitInput }): Promise<void> {
  if (!input.git) return;
  const { link, repo } = await resolveRepo(ctx, caller, input.git.link_id, input.git.repo, input.repo_url, "git");
  const g = await ensureHook(ctx, projectId);
  await setProjectLink(ctx.sql, projectId, { link_id: link.id, repo: repo.full_name, clone_url: repo.clone_url });
  await updateProjectGitSettings(ctx.sql, projectId, { auto_deploy: input.git.auto_deploy, previews: input.git.previews });
  await installProviderHook(ctx, caller, { ...g, link_id: link.id, repo: repo.full_name }, link, repo.full_name);
}

/** Before a project is deleted: its webhook at the provider and its preview projects go too. Never throws (deletion goes on). */
export async function beforeProjectDelete(ctx: AppContext, projectId: string): Promise<void> {
  try {
    const g = await findProjectGit(ctx.sql, projectId);
    if (g) await removeProviderHook(ctx, g);
  } catch (e) {
    console.warn(`[gitproviders] removing the webhook of project ${projectId} failed: ${(e as Error).message}`);
  }
  for (const pv of await previewsOf(ctx.sql, projectId).catch(() => [] as PreviewRow[])) {
    await removePreview(ctx, pv, SYSTEM_ACTOR).catch((e) => console.warn(`[gitproviders] removing preview ${pv.preview_project_id} failed: ${(e as Error).message}`));
  }
}

async function visibleProject(ctx: AppContext, v: Viewer, projectId: string) {
  const p = await findProject(ctx.sql, v, projectId);
  if (!p) throw new NotFound("project");
  return p;
}

async function toProjectGit(ctx: AppContext, g: ProjectGitRow): Promise<ProjectGit> {
  const l = g.link_id ? await findLink(ctx.sql, g.link_id) : undefined;
  const pv = await previewByProject(ctx.sql, g.project_id);
  return {
    project_id: g.project_id,
    link: l && g.repo ? { id: l.id, provider: l.provider, account_login: l.account_login, status: l.status, repo: g.repo } : null,
    auto_deploy: g.auto_deploy,
    previews: g.previews,
    preview_of: pv ? { project_id: pv.project_id, pr_number: pv.pr_number } : null,
    webhook: { managed: g.provider_hook_id !== null, provider_hook_id: g.provider_hook_id, error: g.hook_error },
    webhook_urls: webhookUrls(ctx, g.hook_id),
  };
}

export async function projectGit(ctx: AppContext, v: Viewer, projectId: string): Promise<ProjectGit> {
  await visibleProject(ctx, v, projectId);
  return toProjectGit(ctx, await ensureHook(ctx, projectId));
}

export async function webhookSecret(ctx: AppContext, v: Caller, projectId: string) {
  await visibleProject(ctx, v, projectId);
  const g = await ensureHook(ctx, projectId);
  await audit(ctx.sql, v, "git.webhook_secret_read", { target_type: "project", target_id: projectId });
  return { secret: openSecret(ctx, g), webhook_urls: webhookUrls(ctx, g.hook_id) };
}

export async function patchProjectGit(ctx: AppContext, v: Caller, projectId: string, input: ProjectGitPatch): Promise<ProjectGit> {
  const p = await visibleProject(ctx, v, projectId);
  let g = await ensureHook(ctx, projectId);
  if (input.link !== undefined) {
    const next = input.link ? await resolveRepo(ctx, v, input.link.link_id, input.link.repo, p.repo_url, "link") : null;
    await removeProviderHook(ctx, g).catch(() => {});
    await setProjectLink(ctx.sql, projectId, { link_id: next?.link.id ?? null, repo: next?.repo.full_name ?? null, clone_url: next?.repo.clone_url ?? null });
    g = (await findProjectGit(ctx.sql, projectId))!;
    if (next) await installProviderHook(ctx, v, g, next.link, next.repo.full_name);
  }
  await updateProjectGitSettings(ctx.sql, projectId, { auto_deploy: input.auto_deploy, previews: input.previews });
  await audit(ctx.sql, v, "git.project_update", { target_type: "project", target_id: projectId, detail: { fields: Object.keys(input) } });
  return toProjectGit(ctx, (await findProjectGit(ctx.sql, projectId))!);
}

/** Creates the provider webhook again (after an error, or after it was deleted at the provider). */
export async function reinstallHook(ctx: AppContext, v: Caller, projectId: string): Promise<ProjectGit> {
  await visibleProject(ctx, v, projectId);
  const g = await ensureHook(ctx, projectId);
  if (!g.link_id || !g.repo) throw new Conflict("the project is not linked to a repository at a git provider; paste the webhook URL and secret there", "not_linked");
  const l = await findLink(ctx.sql, g.link_id);
  if (!l) throw new Conflict("the project's git link is gone", "not_linked");
  if (l.user_id !== v.id) throw new Forbidden("only the owner of the git link can install its webhook");
  await removeProviderHook(ctx, g, l).catch(() => {});
  await installProviderHook(ctx, v, (await findProjectGit(ctx.sql, projectId))!, l, g.repo);
  return toProjectGit(ctx, (await findProjectGit(ctx.sql, projectId))!);
}
