/**
 * The dashboard's one API client. The browser's session cookie authenticates
 * every call (same origin, so the browser sends Origin and the server's CSRF
 * check passes). Request and response types come from the zod schemas the
 * server validates with (src/protocol/api.ts and the features' model.ts),
 * imported as types only: no zod reaches the bundle.
 *
 * Every failure is an ApiFailure carrying the API's own message; a 401 on a
 * signed-in call also tells the session model (which sends the person to
 * sign-in and back afterwards).
 */
import type { z } from "zod";
import type { Deployment, Project, Worker, deploymentCreated, envView, projectCreate, projectPatch } from "../src/protocol/api";
import type { UserPatch, UserView, userCreate } from "../src/users/model";
import type { TokenView, tokenCreate } from "../src/tokens/model";
import type { auditEvent } from "../src/audit/model";
import type { Passkey } from "../src/passkeys/model";
import type { SecondFactorInput, activateResponse, enrollResponse } from "../src/totp/model";
import type { loginResponse } from "../src/auth/routes";
import type { Me, Providers, SessionView, SetupStatus, TokenCreated } from "./shapes";
import type { ProjectMetrics, WorkerMetrics } from "../src/metrics/model";
import type { Alert as AlertView, AlertQuery, Rule, RulePatch, ruleCreate } from "../src/alerts/model";
import type { Channel, ChannelPatch, TestResult, channelCreate } from "../src/notifications/model";
import type { UsageFigures, UsageReport } from "../src/usage/model";
import type { Domain } from "../src/domains/model";
import type { Branch, GitLink, ProjectGit, ProjectGitPatch, Repo, gitProvider, webhookSecret } from "../src/gitproviders/model";

export type { Deployment, Project, Worker, UserView, TokenView, Passkey, Me, Providers, SessionView, TokenCreated };
export type ProjectInput = z.input<typeof projectCreate>;
export type ProjectChanges = z.input<typeof projectPatch>;
export type EnvView = z.infer<typeof envView>;
export type LoginResponse = z.infer<typeof loginResponse>;
export type AuditEvent = z.infer<typeof auditEvent>;
export type AuditPage = { events: AuditEvent[]; next_cursor: string | null };
export type AuditFilter = { actor?: string; action?: string; target?: string; from?: string; to?: string; cursor?: string; limit?: number };
export type UserCreated = UserView & { invite_url: string | null };
export type TokenInput = z.input<typeof tokenCreate>;
export type UserInput = z.input<typeof userCreate>;
export type Created = z.infer<typeof deploymentCreated>;
export type { ProjectMetrics, WorkerMetrics, AlertView, Rule, RulePatch, Channel, ChannelPatch, TestResult, UsageFigures, UsageReport };
export type RuleCreate = z.input<typeof ruleCreate>;
export type ChannelCreate = z.input<typeof channelCreate>;
export type SignedIn = { status: "ok"; user: { id: string; email: string; role: string } };

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** The API names the bad field first ("name: must be a DNS label…"): that field and the rest. */
  get field(): { name: string; message: string } | null {
    const m = /^([a-z_][a-z0-9_.]*): ([\s\S]+)$/.exec(this.message);
    return m ? { name: m[1]!, message: m[2]! } : null;
  }
}

let unauthorized: () => void = () => {};
/** Called on a 401 from any call made while signed in. */
export function onUnauthorized(fn: () => void) {
  unauthorized = fn;
}

type Opts = { /** a 401 here is an answer, not a lost session (sign-in steps) */ quiet401?: boolean; signal?: AbortSignal };

async function send(method: string, path: string, body: unknown, opts: Opts): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiFailure(0, "network", "Can't reach the server. Check your connection and try again.");
  }
  if (res.ok) return res;
  const json = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (res.status === 401 && !opts.quiet401) unauthorized();
  let message = json?.error?.message ?? `${res.status} ${res.statusText}`;
  if (res.status === 429) message = `Too many requests: ${message}. Wait a moment and try again.`;
  throw new ApiFailure(res.status, json?.error?.code ?? "error", message);
}

async function request<T>(method: string, path: string, body?: unknown, opts: Opts = {}): Promise<T> {
  const res = await send(method, path, body, opts);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

const qs = (params: Record<string, string | number | undefined>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : "";
};

export const api = {
  // Sign-in
  setupStatus: () => request<SetupStatus>("GET", "/v1/setup-status", undefined, { quiet401: true }),
  providers: () => request<Providers>("GET", "/v1/auth/providers", undefined, { quiet401: true }),
  me: () => request<Me>("GET", "/v1/auth/me", undefined, { quiet401: true }),
  login: (email: string, password: string) => request<LoginResponse>("POST", "/v1/auth/login", { email, password }, { quiet401: true }),
  loginSecondFactor: (input: SecondFactorInput) => request<SignedIn>("POST", "/v1/auth/login/totp", input, { quiet401: true }),
  logout: () => request<{ status: "signed_out" }>("POST", "/v1/auth/logout", undefined, { quiet401: true }),
  acceptInvite: (token: string, password: string) => request<{ user_id: string }>("POST", "/v1/invites/accept", { token, password }, { quiet401: true }),

  // Passkeys: options are WebAuthn JSON (see web/webauthn.ts)
  passkeyLoginOptions: () => request<unknown>("POST", "/v1/auth/passkeys/login/options", undefined, { quiet401: true }),
  passkeyLoginVerify: (response: unknown) => request<SignedIn>("POST", "/v1/auth/passkeys/login/verify", { response }, { quiet401: true }),
  passkeySecondFactorOptions: () => request<unknown>("POST", "/v1/auth/passkeys/second-factor/options", undefined, { quiet401: true }),
  passkeySecondFactorVerify: (response: unknown) => request<SignedIn>("POST", "/v1/auth/passkeys/second-factor/verify", { response }, { quiet401: true }),
  passkeys: () => request<{ passkeys: Passkey[] }>("GET", "/v1/auth/passkeys"),
  passkeyRegisterOptions: () => request<unknown>("POST", "/v1/auth/passkeys/register/options"),
  passkeyRegisterVerify: (name: string | undefined, response: unknown) => request<Passkey>("POST", "/v1/auth/passkeys/register/verify", { name, response }),
  deletePasskey: (id: string) => request<void>("DELETE", `/v1/auth/passkeys/${id}`),

  // TOTP
  totpEnroll: () => request<z.infer<typeof enrollResponse>>("POST", "/v1/auth/totp/enroll"),
  totpActivate: (code: string) => request<z.infer<typeof activateResponse>>("POST", "/v1/auth/totp/activate", { code }),
  totpDisable: (input: SecondFactorInput) => request<{ status: "disabled" }>("DELETE", "/v1/auth/totp", input),

  // Projects
  projects: () => request<{ projects: Project[] }>("GET", "/v1/projects"),
  project: (id: string) => request<Project>("GET", `/v1/projects/${id}`),
  createProject: (p: ProjectInput) => request<Project>("POST", "/v1/projects", p),
  patchProject: (id: string, p: ProjectChanges) => request<Project>("PATCH", `/v1/projects/${id}`, p),
  deleteProject: (id: string) => request<void>("DELETE", `/v1/projects/${id}`),
  env: (id: string, reveal: boolean) => request<EnvView>("GET", `/v1/projects/${id}/env${reveal ? "?reveal=true" : ""}`),
  putEnv: (id: string, vars: Record<string, string>, build: string[] = []) => request<EnvView>("PUT", `/v1/projects/${id}/env`, { vars, build }),

  // Deployments
  deployments: (projectId: string) => request<{ deployments: Deployment[] }>("GET", `/v1/projects/${projectId}/deployments`),
  deployment: (id: string) => request<Deployment>("GET", `/v1/deployments/${id}`),
  deploy: (projectId: string) => request<Created>("POST", `/v1/projects/${projectId}/deployments`),
  redeploy: (deploymentId: string) => request<Created>("POST", `/v1/deployments/${deploymentId}/redeploy`),
  projectAction: (projectId: string, action: "stop" | "start" | "restart") => request<Deployment>("POST", `/v1/projects/${projectId}/${action}`),
  /**
   * Streams a deployment's log text (build, then runtime) until the server
   * ends it (the deployment settled) or `signal` aborts; onText gets each chunk.
   */
  async followLogs(id: string, onText: (t: string) => void, signal: AbortSignal): Promise<void> {
    const res = await send("GET", `/v1/deployments/${id}/logs?follow=live`, undefined, { signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        onText(value);
      }
    } finally {
      reader.releaseLock();
    }
  },

  // Workers (admin)
  workers: () => request<{ workers: Worker[] }>("GET", "/v1/workers"),

  // Account
  sessions: () => request<{ sessions: SessionView[] }>("GET", "/v1/sessions"),
  revokeSession: (id: string) => request<void>("DELETE", `/v1/sessions/${id}`),
  revokeOtherSessions: () => request<{ revoked: number }>("DELETE", "/v1/sessions"),
  tokens: () => request<{ tokens: TokenView[] }>("GET", "/v1/tokens"),
  createToken: (t: TokenInput) => request<TokenCreated>("POST", "/v1/tokens", t),
  revokeToken: (id: string) => request<void>("DELETE", `/v1/tokens/${id}`),

  // Users (admin) and audit
  users: () => request<{ users: UserView[] }>("GET", "/v1/users"),
  createUser: (u: UserInput) => request<UserCreated>("POST", "/v1/users", u),
  patchUser: (id: string, p: UserPatch) => request<UserView>("PATCH", `/v1/users/${id}`, p),
  audit: (f: AuditFilter) => request<AuditPage>("GET", `/v1/audit-events${qs(f)}`),

  // Custom domains (src/domains)
  domains: (projectId: string) => request<{ domains: Domain[] }>("GET", `/v1/projects/${projectId}/domains`),
  addDomain: (projectId: string, hostname: string) => request<Domain>("POST", `/v1/projects/${projectId}/domains`, { hostname }),
  verifyDomain: (id: string) => request<Domain>("POST", `/v1/domains/${id}/verify`),
  deleteDomain: (id: string) => request<void>("DELETE", `/v1/domains/${id}`),

  // Git providers (src/gitproviders)
  gitProviders: () => request<{ providers: GitProvider[] }>("GET", "/v1/git-providers"),
  gitLinks: () => request<{ links: GitLink[] }>("GET", "/v1/git-links"),
  unlinkGit: (id: string) => request<void>("DELETE", `/v1/git-links/${id}`),
  gitRepos: (linkId: string, query: string, signal?: AbortSignal) => request<{ repos: Repo[] }>("GET", `/v1/git-links/${linkId}/repos${qs({ query })}`, undefined, { signal }),
  gitBranches: (linkId: string, repo: string) => request<{ branches: Branch[] }>("GET", `/v1/git-links/${linkId}/repos/${encodeURIComponent(repo)}/branches`),
  projectGit: (projectId: string) => request<ProjectGit>("GET", `/v1/projects/${projectId}/git`),
  patchProjectGit: (projectId: string, p: ProjectGitPatch) => request<ProjectGit>("PATCH", `/v1/projects/${projectId}/git`, p),
  webhookSecret: (projectId: string) => request<WebhookSecret>("GET", `/v1/projects/${projectId}/git/webhook-secret`),
  reinstallWebhook: (projectId: string) => request<ProjectGit>("POST", `/v1/projects/${projectId}/git/webhook`),

  // Fleet operations: metrics, drain, alerts, notification channels, usage
  workerMetrics: (id: string, from?: string) => request<WorkerMetrics>("GET", `/v1/workers/${id}/metrics${qs({ from })}`),
  projectMetrics: (id: string, from: string) => request<ProjectMetrics>("GET", `/v1/projects/${id}/metrics${qs({ from })}`),
  drainWorker: (id: string, drain: boolean) => request<Worker>("POST", `/v1/workers/${id}/${drain ? "drain" : "undrain"}`),
  alerts: (q: Partial<AlertQuery> = {}) => request<{ alerts: AlertView[] }>("GET", `/v1/alerts${qs(q)}`),
  ackAlert: (id: string) => request<AlertView>("POST", `/v1/alerts/${id}/ack`),
  silenceAlert: (id: string, until: string | null) => request<AlertView>("POST", `/v1/alerts/${id}/silence`, { until }),
  alertRules: () => request<{ rules: Rule[] }>("GET", "/v1/alert-rules"),
  createAlertRule: (r: RuleCreate) => request<Rule>("POST", "/v1/alert-rules", r),
  patchAlertRule: (id: string, p: RulePatch) => request<Rule>("PATCH", `/v1/alert-rules/${id}`, p),
  deleteAlertRule: (id: string) => request<void>("DELETE", `/v1/alert-rules/${id}`),
  channels: () => request<{ channels: Channel[] }>("GET", "/v1/notification-channels"),
  createChannel: (c: ChannelCreate) => request<Channel>("POST", "/v1/notification-channels", c),
  patchChannel: (id: string, p: ChannelPatch) => request<Channel>("PATCH", `/v1/notification-channels/${id}`, p),
  deleteChannel: (id: string) => request<void>("DELETE", `/v1/notification-channels/${id}`),
  testChannel: (id: string) => request<TestResult>("POST", `/v1/notification-channels/${id}/test`),
  usageUrl: (from: string, to: string, format?: "csv") => `/v1/usage${qs({ from, to, format })}`,
  usage: (from: string, to: string) => request<UsageReport>("GET", `/v1/usage${qs({ from, to })}`),
};

export type { Domain, DnsRecord } from "../src/domains/model";
export type { Branch, GitLink, ProjectGit, ProjectGitPatch, Repo } from "../src/gitproviders/model";
export type GitProvider = z.infer<typeof gitProvider>;
export type WebhookSecret = z.infer<typeof webhookSecret>;

