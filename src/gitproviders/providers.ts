/**
 * The git providers we can link, each speaking its documented OAuth and REST
 * endpoints: GitHub (and GitHub Enterprise), GitLab (and self-hosted),
 * Bitbucket Cloud, and Forgejo/Gitea (Codeberg is a Forgejo preset). Every
 * base URL comes from the config, so a test points them at a local server.
 *
 * Nothing here touches the database: these are plain HTTP calls with a token.
 */
import type { Config } from "../config";
import { ApiError, NotFound } from "../http/errors";
import type { Branch, ProviderId, ProviderKind, Repo, TokenSet } from "./model";
import { branchList, repoShape, tokenSet } from "./model";

export type Provider = {
  id: ProviderId;
  kind: ProviderKind;
  name: string;
  /** Where people sign in and where OAuth lives (and, for GitLab and Forgejo, the API under it). */
  webUrl: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
};

export const FETCH_TIMEOUT_MS = 10_000;
const USER_AGENT = "WiseHosting";

/** The provider is unreachable or answered nonsense: a 502 to our caller. */
export class ProviderUnavailable extends ApiError {
  constructor(message: string) {
    super(502, "provider_unavailable", message);
  }
}
/** The provider refused the token (revoked, expired, uninstalled): the link must be marked revoked. */
export class TokenRejected extends ApiError {
  constructor(message: string) {
    super(409, "link_revoked", message);
  }
}
/** The provider refused an OAuth grant (bad code, bad refresh token). */
export class GrantRefused extends ApiError {
  constructor(message: string) {
    super(400, "grant_refused", message);
  }
}

/** Every provider this server could link, configured or not (for lookups by id). */
function allProviders(c: Config): (Provider | null)[] {
  const p = (
    id: ProviderId,
    kind: ProviderKind,
    name: string,
    webUrl: string | undefined,
    apiUrl: string | undefined,
    clientId: string | undefined,
    clientSecret: string | undefined,
  ): Provider | null => (webUrl && apiUrl && clientId && clientSecret ? { id, kind, name, webUrl, apiUrl, clientId, clientSecret } : null);
  return [
    p("github", "github", "GitHub", c.WH_GITHUB_URL, c.WH_GITHUB_API_URL, c.WH_GITHUB_CLIENT_ID, c.WH_GITHUB_CLIENT_SECRET),
    p("gitlab", "gitlab", "GitLab", c.WH_GITLAB_URL, c.WH_GITLAB_URL && `${c.WH_GITLAB_URL}/api/v4`, c.WH_GITLAB_CLIENT_ID, c.WH_GITLAB_CLIENT_SECRET),
    p("bitbucket", "bitbucket", "Bitbucket", c.WH_BITBUCKET_URL, c.WH_BITBUCKET_API_URL, c.WH_BITBUCKET_CLIENT_ID, c.WH_BITBUCKET_CLIENT_SECRET),
    p("codeberg", "gitea", "Codeberg", c.WH_CODEBERG_URL, c.WH_CODEBERG_URL && `${c.WH_CODEBERG_URL}/api/v1`, c.WH_CODEBERG_CLIENT_ID, c.WH_CODEBERG_CLIENT_SECRET),
    p("forgejo", "gitea", c.WH_FORGEJO_NAME, c.WH_FORGEJO_URL, c.WH_FORGEJO_URL && `${c.WH_FORGEJO_URL}/api/v1`, c.WH_FORGEJO_CLIENT_ID, c.WH_FORGEJO_CLIENT_SECRET),
  ];
}

/** The providers with a client id and secret configured. */
export function configuredProviders(c: Config): Provider[] {
  return allProviders(c).filter((p): p is Provider => p !== null);
}

export function providerById(c: Config, id: string): Provider {
  const p = configuredProviders(c).find((x) => x.id === id);
  if (!p) throw new NotFound("git provider");
  return p;
}

/** The user name git sends with the token (HTTP Basic), as each provider documents it. */
export const CLONE_USERNAME: Record<ProviderKind, string> = {
  github: "x-access-token",
  gitlab: "oauth2",
  bitbucket: "x-token-auth",
  gitea: "oauth2",
};

/** OAuth scopes we ask for: enough to list repos, clone private ones, manage webhooks and post commit statuses. */
export const SCOPES: Record<ProviderKind, string | null> = {
  github: "repo admin:repo_hook",
  gitlab: "api",
  bitbucket: null, // scopes are set on the Bitbucket OAuth consumer, not per request
  gitea: null, // Forgejo/Gitea OAuth2 grants have full access to the user's repositories
};

// ---- OAuth ---------------------------------------------------------------

/** Where to send the browser to authorize us. */
export function authorizeUrl(p: Provider, o: { state: string; redirectUri: string; codeChallenge: string }): string {
  const path = { github: "/login/oauth/authorize", gitlab: "/oauth/authorize", bitbucket: "/site/oauth2/authorize", gitea: "/login/oauth/authorize" }[p.kind];
  const url = new URL(p.webUrl + path);
  const q = url.searchParams;
  q.set("client_id", p.clientId);
  if (p.kind !== "github") q.set("response_type", "code");
  // Bitbucket sends the browser back to the callback URL registered on the consumer and takes no redirect_uri.
  if (p.kind !== "bitbucket") q.set("redirect_uri", o.redirectUri);
  const scope = SCOPES[p.kind];
  if (scope) q.set("scope", scope);
  q.set("state", o.state);
  if (p.kind !== "bitbucket") {
    // PKCE (RFC 7636): GitHub, GitLab and Forgejo/Gitea support S256; Bitbucket Cloud does not document it.
    q.set("code_challenge", o.codeChallenge);
    q.set("code_challenge_method", "S256");
  }
  if (p.kind === "github") q.set("allow_signup", "false");
  return url.href;
}

function tokenEndpoint(p: Provider): string {
  return p.webUrl + { github: "/login/oauth/access_token", gitlab: "/oauth/token", bitbucket: "/site/oauth2/access_token", gitea: "/login/oauth/access_token" }[p.kind];
}

/** Client authentication per RFC 6749 §2.3.1 (HTTP Basic, form-encoded id and secret). */
export function basicClientAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
  return "Basic " + Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64");
}

async function tokenRequest(p: Provider, params: Record<string, string>): Promise<TokenSet> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
    "user-agent": USER_AGENT,
  };
  if (p.kind === "bitbucket") headers.authorization = basicClientAuth(p.clientId, p.clientSecret);
  else {
    body.set("client_id", p.clientId);
    body.set("client_secret", p.clientSecret);
  }
  let res: Response;
  let json: unknown;
  try {
    res = await fetch(tokenEndpoint(p), { method: "POST", headers, body, redirect: "error", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    json = await res.json().catch(() => undefined);
  } catch (e) {
    throw new ProviderUnavailable(`${p.name}: token endpoint not reachable (${(e as Error).name})`);
  }
  if (res.status >= 500) throw new ProviderUnavailable(`${p.name}: token endpoint answered ${res.status}`);
  // GitHub answers a refused grant with 200 and an `error` field.
  const err = (json as { error?: unknown } | undefined)?.error;
  if (!res.ok || typeof err === "string") {
    const what = typeof err === "string" ? err.replace(/[^\w.-]/g, "").slice(0, 64) : `HTTP ${res.status}`;
    throw new GrantRefused(`${p.name} refused the grant (${what})`);
  }
  const ok = tokenSet.safeParse(json);
  if (!ok.success) throw new ProviderUnavailable(`${p.name}: the token response has no access_token`);
  return ok.data;
}

/** Exchanges an authorization code (with the PKCE verifier where PKCE was used). */
export function exchangeCode(p: Provider, o: { code: string; redirectUri: string; codeVerifier: string }): Promise<TokenSet> {
  if (p.kind === "bitbucket") return tokenRequest(p, { grant_type: "authorization_code", code: o.code });
  if (p.kind === "github") return tokenRequest(p, { code: o.code, redirect_uri: o.redirectUri, code_verifier: o.codeVerifier });
  return tokenRequest(p, { grant_type: "authorization_code", code: o.code, redirect_uri: o.redirectUri, code_verifier: o.codeVerifier });
}

/** Trades a refresh token for a new access token (and usually a new refresh token). */
export function refreshToken(p: Provider, o: { refreshToken: string; redirectUri: string }): Promise<TokenSet> {
  const params: Record<string, string> = { grant_type: "refresh_token", refresh_token: o.refreshToken };
  if (p.kind === "gitlab") params.redirect_uri = o.redirectUri; // GitLab's documented refresh request carries it
  return tokenRequest(p, params);
}

// ---- REST ----------------------------------------------------------------

function apiHeaders(p: Provider, token: string): Record<string, string> {
  const h: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json", "user-agent": USER_AGENT };
  if (p.kind === "github") {
    h.accept = "application/vnd.github+json";
    h["x-github-api-version"] = "2022-11-28";
  }
  return h;
}

/** One REST call: JSON in and out; 401 → TokenRejected, 404 → NotFound, 5xx or no answer → ProviderUnavailable. */
export async function api<T = unknown>(p: Provider, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const headers = apiHeaders(p, token);
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(p.apiUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "error",
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (e) {
    throw new ProviderUnavailable(`${p.name}: API not reachable (${(e as Error).name})`);
  }
  if (res.status === 401) throw new TokenRejected(`${p.name} no longer accepts this link's token; link the account again`);
  if (res.status === 404) throw new NotFound(`${p.name} resource`);
  if (res.status >= 500) throw new ProviderUnavailable(`${p.name}: API answered ${res.status}`);
  if (!res.ok) {
    const text = (await res.text().catch(() => "")).replace(/[\x00-\x1f]/g, " ").slice(0, 200);
    throw new ApiError(res.status === 403 ? 403 : 422, "provider_refused", `${p.name} refused ${method} (${res.status}): ${text}`);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ProviderUnavailable(`${p.name}: the API answered something that is not JSON`);
  }
}

/** "owner/name" (GitLab: "group/sub/name") as a URL path: each segment encoded. */
export function repoPath(repo: string): string {
  return repo.split("/").map(encodeURIComponent).join("/");
}
/** GitLab addresses a project by its URL-encoded full path. */
const gitlabId = (repo: string) => encodeURIComponent(repo);

export async function currentUser(p: Provider, token: string): Promise<{ id: string; login: string }> {
  const u = await api<Record<string, unknown>>(p, token, "GET", "/user");
  const id = p.kind === "bitbucket" ? u.uuid ?? u.account_id : u.id;
  const login = p.kind === "gitlab" ? u.username : p.kind === "bitbucket" ? u.nickname ?? u.username ?? u.display_name : u.login;
  if ((typeof id !== "string" && typeof id !== "number") || typeof login !== "string")
    throw new ProviderUnavailable(`${p.name}: the user endpoint answered without an id and login`);
  return { id: String(id), login };
}

/** Normalises one repository from any provider's JSON. */
export function toRepo(p: Provider, r: Record<string, any>): Repo | null {
  let out: unknown;
  switch (p.kind) {
    case "github":
    case "gitea":
      out = { full_name: r.full_name, private: Boolean(r.private), clone_url: r.clone_url, default_branch: r.default_branch ?? null, html_url: r.html_url ?? null };
      break;
    case "gitlab":
      out = {
        full_name: r.path_with_namespace,
        private: r.visibility !== "public",
        clone_url: r.http_url_to_repo,
        default_branch: r.default_branch ?? null,
        html_url: r.web_url ?? null,
      };
      break;
    case "bitbucket": {
      const https = (r.links?.clone ?? []).find((c: { name?: string }) => c.name === "https")?.href;
      // Bitbucket puts the user name in its clone URL (https://user@bitbucket.org/…); ours carries no credentials.
      let clone = typeof https === "string" ? https : `${p.webUrl}/${r.full_name}.git`;
      try {
        const u = new URL(clone);
        u.username = "";
        u.password = "";
        clone = u.href;
      } catch {}
      out = { full_name: r.full_name, private: Boolean(r.is_private), clone_url: clone, default_branch: r.mainbranch?.name ?? null, html_url: r.links?.html?.href ?? null };
      break;
    }
  }
  const ok = repoShape.safeParse(out);
  return ok.success ? ok.data : null;
}

/** The account's repositories, filtered by `query` (part of the full name), most recently active first. */
export async function listRepos(p: Provider, token: string, query: string): Promise<Repo[]> {
  const q = query.trim().toLowerCase();
  let raw: Record<string, any>[] = [];
  switch (p.kind) {
    case "github":
      for (let page = 1; page <= 3; page++) {
        const batch = await api<Record<string, any>[]>(p, token, "GET", `/user/repos?per_page=100&sort=pushed&page=${page}`);
        raw.push(...batch);
        if (batch.length < 100) break;
      }
      break;
    case "gitea":
      for (let page = 1; page <= 3; page++) {
        const batch = await api<Record<string, any>[]>(p, token, "GET", `/user/repos?limit=50&page=${page}`);
        raw.push(...batch);
        if (batch.length < 50) break;
      }
      break;
    case "gitlab": {
      const search = q ? `&search=${encodeURIComponent(q)}` : "";
      raw = await api<Record<string, any>[]>(p, token, "GET", `/projects?membership=true&simple=true&order_by=last_activity_at&per_page=100${search}`);
      break;
    }
    case "bitbucket": {
      const bbql = q ? `&q=${encodeURIComponent(`full_name ~ "${q}"`)}` : "";
      const page = await api<{ values: Record<string, any>[] }>(p, token, "GET", `/repositories?role=member&sort=-updated_on&pagelen=100${bbql}`);
      raw = page.values ?? [];
      break;
    }
  }
  if (!Array.isArray(raw)) throw new ProviderUnavailable(`${p.name}: the repository list is not a list`);
  const repos = raw.map((r) => toRepo(p, r)).filter((r): r is Repo => r !== null);
  return q ? repos.filter((r) => r.full_name.toLowerCase().includes(q)) : repos;
}

export async function getRepo(p: Provider, token: string, repo: string): Promise<Repo> {
  const path = p.kind === "gitlab" ? `/projects/${gitlabId(repo)}` : p.kind === "bitbucket" ? `/repositories/${repoPath(repo)}` : `/repos/${repoPath(repo)}`;
  const r = toRepo(p, await api<Record<string, any>>(p, token, "GET", path));
  if (!r) throw new ProviderUnavailable(`${p.name}: the repository answer is incomplete`);
  return r;
}

export async function listBranches(p: Provider, token: string, repo: string): Promise<Branch[]> {
  let out: unknown;
  switch (p.kind) {
    case "github": {
      const raw = await api<Record<string, any>[]>(p, token, "GET", `/repos/${repoPath(repo)}/branches?per_page=100`);
      out = raw.map((b) => ({ name: b.name, sha: b.commit?.sha ?? null }));
      break;
    }
    case "gitea": {
      const raw = await api<Record<string, any>[]>(p, token, "GET", `/repos/${repoPath(repo)}/branches?limit=50`);
      out = raw.map((b) => ({ name: b.name, sha: b.commit?.id ?? null }));
      break;
    }
    case "gitlab": {
      const raw = await api<Record<string, any>[]>(p, token, "GET", `/projects/${gitlabId(repo)}/repository/branches?per_page=100`);
      out = raw.map((b) => ({ name: b.name, sha: b.commit?.id ?? null }));
      break;
    }
    case "bitbucket": {
      const raw = await api<{ values: Record<string, any>[] }>(p, token, "GET", `/repositories/${repoPath(repo)}/refs/branches?pagelen=100`);
      out = (raw.values ?? []).map((b) => ({ name: b.name, sha: b.target?.hash ?? null }));
      break;
    }
  }
  const ok = branchList.safeParse(out);
  if (!ok.success) throw new ProviderUnavailable(`${p.name}: the branch list is incomplete`);
  return ok.data;
}

/** The full commit id of an abbreviated one (Bitbucket's pull request payloads carry 12 characters). */
export async function getCommitSha(p: Provider, token: string, repo: string, ref: string): Promise<string> {
  if (!/^[0-9a-f]{7,64}$/.test(ref)) throw new NotFound("commit");
  let sha: unknown;
  switch (p.kind) {
    case "github":
      sha = (await api<{ sha?: unknown }>(p, token, "GET", `/repos/${repoPath(repo)}/commits/${ref}`)).sha;
      break;
    case "gitea":
      sha = (await api<{ sha?: unknown }>(p, token, "GET", `/repos/${repoPath(repo)}/git/commits/${ref}`)).sha;
      break;
    case "gitlab":
      sha = (await api<{ id?: unknown }>(p, token, "GET", `/projects/${gitlabId(repo)}/repository/commits/${ref}`)).id;
      break;
    case "bitbucket":
      sha = (await api<{ hash?: unknown }>(p, token, "GET", `/repositories/${repoPath(repo)}/commit/${ref}`)).hash;
      break;
  }
  if (typeof sha !== "string" || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(sha) || !sha.startsWith(ref)) throw new ProviderUnavailable(`${p.name}: no full commit id for ${ref}`);
  return sha;
}

/** Creates a webhook sending pushes and pull/merge requests to `url`, signed with `secret`; returns its id at the provider. */
export async function createHook(p: Provider, token: string, repo: string, o: { url: string; secret: string }): Promise<string> {
  let r: Record<string, any>;
  switch (p.kind) {
    case "github":
      r = await api(p, token, "POST", `/repos/${repoPath(repo)}/hooks`, {
        name: "web",
        active: true,
        events: ["push", "pull_request"],
        config: { url: o.url, content_type: "json", secret: o.secret, insecure_ssl: "0" },
      });
      break;
    case "gitea":
      r = await api(p, token, "POST", `/repos/${repoPath(repo)}/hooks`, {
        type: "gitea",
        active: true,
        events: ["push", "pull_request"],
        config: { url: o.url, content_type: "json", secret: o.secret },
      });
      break;
    case "gitlab":
      r = await api(p, token, "POST", `/projects/${gitlabId(repo)}/hooks`, {
        url: o.url,
        token: o.secret,
        push_events: true,
        tag_push_events: false,
        merge_requests_events: true,
        enable_ssl_verification: true,
      });
      break;
    case "bitbucket":
      r = await api(p, token, "POST", `/repositories/${repoPath(repo)}/hooks`, {
        description: "WiseHosting",
        url: o.url,
        active: true,
        secret: o.secret,
        events: ["repo:push", "pullrequest:created", "pullrequest:updated", "pullrequest:fulfilled", "pullrequest:rejected"],
      });
      break;
  }
  const id = p.kind === "bitbucket" ? r?.uuid : r?.id;
  if (typeof id !== "string" && typeof id !== "number") throw new ProviderUnavailable(`${p.name}: the new webhook has no id`);
  return String(id);
}

export async function deleteHook(p: Provider, token: string, repo: string, hookId: string): Promise<void> {
  const path =
    p.kind === "gitlab"
      ? `/projects/${gitlabId(repo)}/hooks/${encodeURIComponent(hookId)}`
      : p.kind === "bitbucket"
        ? `/repositories/${repoPath(repo)}/hooks/${encodeURIComponent(hookId)}`
        : `/repos/${repoPath(repo)}/hooks/${encodeURIComponent(hookId)}`;
  try {
    await api(p, token, "DELETE", path);
  } catch (e) {
    if (!(e instanceof NotFound)) throw e; // already gone is what we wanted
  }
}

export type StatusState = "pending" | "success" | "failure";

/** Sets our commit status ("wisehosting") on `sha`, linking to the deployment's page. */
export async function setCommitStatus(
  p: Provider,
  token: string,
  repo: string,
  sha: string,
  o: { state: StatusState; targetUrl: string; description: string },
): Promise<void> {
  const description = o.description.slice(0, 140);
  switch (p.kind) {
    case "github":
    case "gitea":
      await api(p, token, "POST", `/repos/${repoPath(repo)}/statuses/${sha}`, { state: o.state, target_url: o.targetUrl, description, context: "wisehosting" });
      return;
    case "gitlab":
      await api(p, token, "POST", `/projects/${gitlabId(repo)}/statuses/${sha}`, {
        state: o.state === "failure" ? "failed" : o.state,
        target_url: o.targetUrl,
        description,
        name: "wisehosting",
      });
      return;
    case "bitbucket":
      await api(p, token, "POST", `/repositories/${repoPath(repo)}/commit/${sha}/statuses/build`, {
        key: "wisehosting",
        state: { pending: "INPROGRESS", success: "SUCCESSFUL", failure: "FAILED" }[o.state],
        name: "WiseHosting",
        url: o.targetUrl,
        description,
      });
      return;
  }
}

/** Best effort: tells the provider we no longer need the token (where it documents a way). */
export async function revokeToken(p: Provider, token: string): Promise<void> {
  try {
    if (p.kind === "github") {
      await fetch(`${p.apiUrl}/applications/${encodeURIComponent(p.clientId)}/token`, {
        method: "DELETE",
        headers: {
          authorization: basicClientAuth(p.clientId, p.clientSecret),
          accept: "application/vnd.github+json",
          "x-github-api-version": "2022-11-28",
          "content-type": "application/json",
          "user-agent": USER_AGENT,
        },
        body: JSON.stringify({ access_token: token }),
        redirect: "error",
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } else if (p.kind === "gitlab") {
      await fetch(`${p.webUrl}/oauth/revoke`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": USER_AGENT },
        body: new URLSearchParams({ client_id: p.clientId, client_secret: p.clientSecret, token }),
        redirect: "error",
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    }
  } catch {
    // The link is gone on our side either way.
  }
}
