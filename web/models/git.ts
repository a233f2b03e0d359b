/**
 * Linked git accounts (Account page), the new-project repository picker,
 * and a project's push-to-deploy settings (auto-deploy, previews, webhook).
 */
import { signal } from "@preact/signals";
import { api, type Branch, type GitLink, type GitProvider, type ProjectGit, type Repo, type WebhookSecret } from "../api";
import { onSignOut } from "./session";
import { action, errorText } from "./util";

// ---- Linked accounts ----

export const gitProviders = signal<GitProvider[] | null>(null);
export const gitLinks = signal<GitLink[] | null>(null);
export const linksError = signal("");
export const unlinkAction = action();

export async function loadGit() {
  try {
    const [p, l] = await Promise.all([api.gitProviders(), api.gitLinks()]);
    gitProviders.value = p.providers;
    gitLinks.value = l.links;
    linksError.value = "";
  } catch (e) {
    linksError.value = errorText(e);
  }
}

export async function unlink(id: string) {
  await unlinkAction.run(() => api.unlinkGit(id));
  if (!unlinkAction.error.value) gitLinks.value = (gitLinks.value ?? []).filter((l) => l.id !== id);
}

/** Where the browser goes to link an account (the server answers 302 to the provider). */
export const linkUrl = (provider: string) => `/v1/git-providers/${encodeURIComponent(provider)}/link`;

const LINK_ERRORS: Record<string, string> = {
  provider_error: "the provider refused (did you decline access?)",
  unknown_state: "this link request is unknown or was already used; start again",
  flow_expired: "linking took more than 10 minutes; start again",
  session_mismatch: "it was started in another session; start again",
  not_signed_in: "sign in first, then link again",
  token_exchange_failed: "the provider didn't hand over a token; try again",
};
/** Says what ?git_linked / ?git_link_error mean. */
export function linkOutcome(q: URLSearchParams): { kind: "ok" | "error"; text: string } | null {
  const ok = q.get("git_linked");
  if (ok) return { kind: "ok", text: `Your ${ok} account is linked.` };
  const err = q.get("git_link_error");
  if (err) return { kind: "error", text: `Linking failed: ${LINK_ERRORS[err] ?? err.replace(/[^\w]/g, " ")}.` };
  return null;
}

// ---- New project: pick a repository of a linked account ----

export const repos = signal<Repo[] | null>(null);
export const reposError = signal("");
export const branches = signal<Branch[] | null>(null);
export const branchesError = signal("");
let searching: AbortController | null = null;

export async function searchRepos(linkId: string, query: string) {
  searching?.abort();
  const ctl = (searching = new AbortController());
  reposError.value = "";
  try {
    const r = await api.gitRepos(linkId, query.trim(), ctl.signal);
    if (searching === ctl) repos.value = r.repos;
  } catch (e) {
    if ((e as Error).name === "AbortError") return;
    repos.value = [];
    reposError.value = errorText(e);
  }
}

export async function loadBranches(linkId: string, repo: string) {
  branches.value = null;
  branchesError.value = "";
  try {
    branches.value = (await api.gitBranches(linkId, repo)).branches;
  } catch (e) {
    branches.value = [];
    branchesError.value = errorText(e);
  }
}

export function resetPicker() {
  searching?.abort();
  repos.value = null;
  reposError.value = "";
  branches.value = null;
  branchesError.value = "";
}

// ---- A project's git settings ----

export const projectGit = signal<ProjectGit | null>(null);
export const projectGitError = signal("");
export const gitSave = action();
export const hookRetry = action();
export const secretAction = action();
export const secret = signal<WebhookSecret | null>(null);

export async function loadProjectGit(projectId: string) {
  if (projectGit.value?.project_id !== projectId) {
    projectGit.value = null;
    secret.value = null;
  }
  projectGitError.value = "";
  try {
    projectGit.value = await api.projectGit(projectId);
  } catch (e) {
    projectGitError.value = errorText(e);
  }
}

export async function setGitOption(projectId: string, patch: { auto_deploy?: boolean; previews?: boolean }) {
  const g = await gitSave.run(() => api.patchProjectGit(projectId, patch));
  if (g) projectGit.value = g;
}

export async function retryWebhook(projectId: string) {
  const g = await hookRetry.run(() => api.reinstallWebhook(projectId));
  if (g) projectGit.value = g;
}

export async function showSecret(projectId: string) {
  const s = await secretAction.run(() => api.webhookSecret(projectId));
  if (s) secret.value = s;
}

onSignOut(() => {
  gitProviders.value = null;
  gitLinks.value = null;
  projectGit.value = null;
  secret.value = null;
  resetPicker();
});
