/**
 * Linked git providers against local servers implementing each provider's
 * documented endpoints: the OAuth link flow (state bound to the session,
 * exact redirect URI, PKCE), encrypted tokens, refresh before use, revoked
 * links, repos and branches, webhook creation and removal, signed webhook
 * deliveries that deploy exactly the pushed commit, commit statuses, manual
 * deploys of a branch or commit, and the clone credential in the deploy job.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { startTestApp, type TestApp } from "./helpers/app";
import { startFakeProvider, type FakeProvider, type Kind } from "./helpers/git-providers";
import { startGitProviderJobs } from "../src/gitproviders";
import { cloneCredential, withLink } from "../src/gitproviders/service";
import { findLink } from "../src/gitproviders/queries";
import { getCommitSha } from "../src/gitproviders/providers";
import { dispatchDeploy } from "../src/scheduler/service";

const skip = missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable());
const PASSWORD = "correct horse battery";
const ORIGIN = "http://127.0.0.1:8080"; // the test app's public URL
const SHA1 = "a".repeat(40);
const SHA2 = "b".repeat(40);

const PROVIDERS: { id: string; kind: Kind; env: (f: FakeProvider) => Record<string, string> }[] = [
  {
    id: "github",
    kind: "github",
    env: (f) => ({ WH_GITHUB_CLIENT_ID: "gh-client", WH_GITHUB_CLIENT_SECRET: "gh-secret", WH_GITHUB_URL: f.base, WH_GITHUB_API_URL: f.apiBase }),
  },
  { id: "gitlab", kind: "gitlab", env: (f) => ({ WH_GITLAB_CLIENT_ID: "gl-client", WH_GITLAB_CLIENT_SECRET: "gl-secret", WH_GITLAB_URL: f.base }) },
  {
    id: "bitbucket",
    kind: "bitbucket",
    env: (f) => ({ WH_BITBUCKET_CLIENT_ID: "bb-client", WH_BITBUCKET_CLIENT_SECRET: "bb-secret", WH_BITBUCKET_URL: f.base, WH_BITBUCKET_API_URL: f.apiBase }),
  },
  { id: "codeberg", kind: "gitea", env: (f) => ({ WH_CODEBERG_CLIENT_ID: "cb-client", WH_CODEBERG_CLIENT_SECRET: "cb-secret", WH_CODEBERG_URL: f.base }) },
];
const CLIENT: Record<string, { id: string; secret: string }> = {
  github: { id: "gh-client", secret: "gh-secret" },
  gitlab: { id: "gl-client", secret: "gl-secret" },
  bitbucket: { id: "bb-client", secret: "bb-secret" },
  codeberg: { id: "cb-client", secret: "cb-secret" },
};

const s256 = (v: string) => createHash("sha256").update(v).digest("base64url");
const sign = (secret: string, body: string) => createHmac("sha256", secret).update(body).digest("hex");

describe.skipIf(skip)("linked git providers", () => {
  let t: TestApp;
  const fakes: Record<string, FakeProvider> = {};
  let alice: { id: string; token: string };
  let aliceCookie = "";
  let bob: { id: string; token: string };
  let bobCookie = "";
  const linkIds: Record<string, string> = {};
  let jobs: ReturnType<typeof startGitProviderJobs>;

  async function login(email: string) {
    const r = await t.call("POST", "/v1/auth/login", { body: { email, password: PASSWORD } });
    return `wh_session=${/wh_session=([^;]+)/.exec(r.headers.get("set-cookie") ?? "")![1]}`;
  }

  beforeAll(async () => {
    let env: Record<string, string> = { WH_SIGNIN_RATE_PER_MIN: "1000" };
    for (const p of PROVIDERS) {
      fakes[p.id] = startFakeProvider(p.kind, CLIENT[p.id]!);
      env = { ...env, ...p.env(fakes[p.id]!) };
    }
    t = await startTestApp(env);
    alice = await t.userWithToken("alice@example.com");
    bob = await t.userWithToken("bob@example.com");
    aliceCookie = await login("alice@example.com");
    bobCookie = await login("bob@example.com");
    jobs = startGitProviderJobs(t.ctx, { statusEveryMs: 60_000, refreshEveryMs: 60_000 });
  });
  afterAll(async () => {
    jobs?.stop();
    for (const f of Object.values(fakes)) f.stop();
    await t?.close();
  });

  /** Runs the browser's part of the OAuth flow for `cookie`; returns the authorize URL and the callback's answer. */
  async function link(providerId: string, cookie: string, opts: { callbackCookie?: string; code?: string } = {}) {
    const start = await t.call("GET", `/v1/git-providers/${providerId}/link`, { headers: { cookie, "sec-fetch-site": "same-origin" } });
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get("location")!);
    const code = opts.code ?? fakes[providerId]!.newCode();
    const q = new URLSearchParams({ code, state: authorize.searchParams.get("state")! });
    const cb = await t.call("GET", `/v1/git-providers/${providerId}/callback?${q}`, { headers: opts.callbackCookie === "" ? {} : { cookie: opts.callbackCookie ?? cookie } });
    return { authorize, cb, location: cb.headers.get("location") ?? "" };
  }

  test("the configured providers are listed", async () => {
    const r = await t.call("GET", "/v1/git-providers", { token: alice.token });
    expect(r.status).toBe(200);
    expect(r.json.providers.map((p: { id: string; kind: string }) => `${p.id}:${p.kind}`)).toEqual(["github:github", "gitlab:gitlab", "bitbucket:bitbucket", "codeberg:gitea"]);
  });

  for (const p of PROVIDERS) {
    test(`${p.id}: the OAuth link flow sends exactly the documented requests`, async () => {
      const f = fakes[p.id]!;
      f.opts.expiresIn = p.kind === "github" ? undefined : 7200;
      f.take();
      const { authorize, location } = await link(p.id, aliceCookie);
      expect(location).toBe(`/account?git_linked=${p.id}`);
      const redirectUri = `${ORIGIN}/v1/git-providers/${p.id}/callback`;
      const q = Object.fromEntries(authorize.searchParams);
      const state = q.state!;
      expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const challenge = q.code_challenge;
      const expectedAuthorize: Record<string, Record<string, string | undefined>> = {
        github: { client_id: "gh-client", redirect_uri: redirectUri, scope: "repo admin:repo_hook", state, code_challenge: challenge, code_challenge_method: "S256", allow_signup: "false" },
        gitlab: { client_id: "gl-client", response_type: "code", redirect_uri: redirectUri, scope: "api", state, code_challenge: challenge, code_challenge_method: "S256" },
        bitbucket: { client_id: "bb-client", response_type: "code", state },
        gitea: { client_id: "cb-client", response_type: "code", redirect_uri: redirectUri, state, code_challenge: challenge, code_challenge_method: "S256" },
      };
      expect(q).toEqual(expectedAuthorize[p.kind]! as Record<string, string>);
      const authPath = { github: "/login/oauth/authorize", gitlab: "/oauth/authorize", bitbucket: "/site/oauth2/authorize", gitea: "/login/oauth/authorize" }[p.kind];
      expect(authorize.origin + authorize.pathname).toBe(f.base + authPath);

      const [tokenReq, userReq, ...rest] = f.take();
      expect(rest).toEqual([]);
      expect(tokenReq!.method).toBe("POST");
      expect(tokenReq!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      expect(tokenReq!.headers.accept).toBe("application/json");
      const form = tokenReq!.form!;
      if (p.kind !== "bitbucket") expect(s256(form.code_verifier!)).toBe(challenge!);
      const expectedToken: Record<Kind, Record<string, string>> = {
        github: { code: form.code!, redirect_uri: redirectUri, code_verifier: form.code_verifier!, client_id: "gh-client", client_secret: "gh-secret" },
        gitlab: { grant_type: "authorization_code", code: form.code!, redirect_uri: redirectUri, code_verifier: form.code_verifier!, client_id: "gl-client", client_secret: "gl-secret" },
        bitbucket: { grant_type: "authorization_code", code: form.code! },
        gitea: { grant_type: "authorization_code", code: form.code!, redirect_uri: redirectUri, code_verifier: form.code_verifier!, client_id: "cb-client", client_secret: "cb-secret" },
      };
      expect(form).toEqual(expectedToken[p.kind]);
      expect(form.code).toMatch(/^code-/);
      if (p.kind === "bitbucket") expect(tokenReq!.headers.authorization).toBe("Basic " + Buffer.from("bb-client:bb-secret").toString("base64"));
      else expect(tokenReq!.headers.authorization).toBeUndefined();
      const userPath = { github: "/api/v3/user", gitlab: "/api/v4/user", bitbucket: "/2.0/user", gitea: "/api/v1/user" }[p.kind];
      expect({ method: userReq!.method, path: userReq!.path }).toEqual({ method: "GET", path: userPath });
      expect(userReq!.headers.authorization).toMatch(/^Bearer acc-/);
      if (p.kind === "github") {
        expect(userReq!.headers.accept).toBe("application/vnd.github+json");
        expect(userReq!.headers["x-github-api-version"]).toBe("2022-11-28");
      }

      const links = (await t.call("GET", "/v1/git-links", { token: alice.token })).json.links;
      const mine = links.find((l: { provider: string }) => l.provider === p.id);
      expect(mine).toMatchObject({ provider: p.id, status: "active", account_login: expect.stringContaining("alice") });
      linkIds[p.id] = mine.id;
      // Tokens are stored sealed (AES-256-GCM, key id prefix), never as they are.
      const [row] = await t.sql<{ access_token_enc: string; refresh_token_enc: string | null }[]>`SELECT access_token_enc, refresh_token_enc FROM git_links WHERE id = ${mine.id}`;
      const plain = /Bearer (.+)$/.exec(userReq!.headers.authorization!)![1]!;
      expect(row!.access_token_enc).toMatch(/^v1\.[0-9a-f]{8}\./);
      expect(row!.access_token_enc).not.toContain(plain);
      expect(row!.refresh_token_enc === null).toBe(p.kind === "github");
    });
  }

  test("the callback must come back in the session that started it; a link never signs in", async () => {
    const f = fakes.github!;
    // Another signed-in session (Bob's) can't finish Alice's flow.
    const other = await link("github", aliceCookie, { callbackCookie: bobCookie });
    expect(other.location).toBe("/account?git_link_error=session_mismatch");
    // No session at all: refused, and no session cookie handed out.
    const none = await link("github", aliceCookie, { callbackCookie: "" });
    expect(none.location).toBe("/account?git_link_error=not_signed_in");
    expect(none.cb.headers.get("set-cookie")).toBeNull();
    // A second session of the same user is not the session that started it either.
    const aliceAgain = await login("alice@example.com");
    expect((await link("github", aliceCookie, { callbackCookie: aliceAgain })).location).toBe("/account?git_link_error=session_mismatch");
    // A state is used once.
    const start = await t.call("GET", "/v1/git-providers/github/link", { headers: { cookie: aliceCookie } });
    const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
    const first = await t.call("GET", `/v1/git-providers/github/callback?code=${f.newCode()}&state=${state}`, { headers: { cookie: aliceCookie } });
    expect(first.headers.get("location")).toBe("/account?git_linked=github");
    const replay = await t.call("GET", `/v1/git-providers/github/callback?code=${f.newCode()}&state=${state}`, { headers: { cookie: aliceCookie } });
    expect(replay.headers.get("location")).toBe("/account?git_link_error=unknown_state");
    // A refused code is reported as such.
    expect((await link("github", aliceCookie, { code: "code-nope" })).location).toBe("/account?git_link_error=token_exchange_failed");
    // An API token can't start a link (nothing to bind the state to); a cross-site start is refused.
    const byToken = await t.call("GET", "/v1/git-providers/github/link", { token: alice.token });
    expect(byToken.status).toBe(400);
    expect(byToken.json.error.code).toBe("session_required");
    expect((await t.call("GET", "/v1/git-providers/github/link", { headers: { cookie: aliceCookie, "sec-fetch-site": "cross-site" } })).status).toBe(403);
    // Unknown or unconfigured provider.
    expect((await t.call("GET", "/v1/git-providers/forgejo/link", { headers: { cookie: aliceCookie } })).status).toBe(404);
    // Bob sees none of Alice's links.
    expect((await t.call("GET", "/v1/git-links", { token: bob.token })).json.links).toEqual([]);
    expect((await t.call("GET", `/v1/git-links/${linkIds.github}/repos`, { token: bob.token })).status).toBe(404);
    f.take();
  });

  for (const p of PROVIDERS) {
    test(`${p.id}: repos and branches through the link`, async () => {
      const f = fakes[p.id]!;
      f.take();
      const repos = await t.call("GET", `/v1/git-links/${linkIds[p.id]}/repos?query=sho`, { token: alice.token });
      expect(repos.status).toBe(200);
      expect(repos.json.repos).toEqual([
        { full_name: f.repoName, private: true, clone_url: f.cloneUrl, default_branch: "main", html_url: expect.any(String) },
      ]);
      const none = await t.call("GET", `/v1/git-links/${linkIds[p.id]}/repos?query=zzz`, { token: alice.token });
      expect(none.json.repos).toEqual([]);
      const branches = await t.call("GET", `/v1/git-links/${linkIds[p.id]}/repos/${encodeURIComponent(f.repoName)}/branches`, { token: alice.token });
      expect(branches.status).toBe(200);
      expect(branches.json.branches.map((b: { name: string }) => b.name)).toEqual(["main", "dev"]);
      const paths = f.take().map((r) => `${r.method} ${r.path}`);
      const expected: Record<Kind, string[]> = {
        github: ["GET /api/v3/user/repos?per_page=100&sort=pushed&page=1", "GET /api/v3/user/repos?per_page=100&sort=pushed&page=1", "GET /api/v3/repos/acme/shop/branches?per_page=100"],
        gitlab: [
          "GET /api/v4/projects?membership=true&simple=true&order_by=last_activity_at&per_page=100&search=sho",
          "GET /api/v4/projects?membership=true&simple=true&order_by=last_activity_at&per_page=100&search=zzz",
          "GET /api/v4/projects/acme%2Fweb%2Fshop/repository/branches?per_page=100",
        ],
        bitbucket: [
          `GET /2.0/repositories?role=member&sort=-updated_on&pagelen=100&q=${encodeURIComponent('full_name ~ "sho"')}`,
          `GET /2.0/repositories?role=member&sort=-updated_on&pagelen=100&q=${encodeURIComponent('full_name ~ "zzz"')}`,
          "GET /2.0/repositories/acme/shop/refs/branches?pagelen=100",
        ],
        gitea: ["GET /api/v1/user/repos?limit=50&page=1", "GET /api/v1/user/repos?limit=50&page=1", "GET /api/v1/repos/acme/shop/branches?limit=50"],
      };
      expect(paths).toEqual(expected[p.kind]);
      // Bad input never reaches the provider.
      expect((await t.call("GET", `/v1/git-links/${linkIds[p.id]}/repos?query=${encodeURIComponent('"; x')}`, { token: alice.token })).status).toBe(400);
      expect((await t.call("GET", `/v1/git-links/${linkIds[p.id]}/repos/${encodeURIComponent("../etc")}/branches`, { token: alice.token })).status).toBe(400);
      expect(f.take()).toEqual([]);
    });
  }

  test("an abbreviated commit id (Bitbucket's pull requests) resolves through each provider's API", async () => {
    const paths: string[] = [];
    for (const p of PROVIDERS) {
      const l = (await findLink(t.sql, linkIds[p.id]!))!;
      fakes[p.id]!.take();
      const sha = await withLink(t.ctx, l, (prov, token) => getCommitSha(prov, token, fakes[p.id]!.repoName, "abcdef123456"));
      expect(sha).toBe("abcdef123456" + "c".repeat(28));
      paths.push(...fakes[p.id]!.take().map((r) => `${r.method} ${r.path}`));
    }
    expect(paths).toEqual([
      "GET /api/v3/repos/acme/shop/commits/abcdef123456",
      "GET /api/v4/projects/acme%2Fweb%2Fshop/repository/commits/abcdef123456",
      "GET /2.0/repositories/acme/shop/commit/abcdef123456",
      "GET /api/v1/repos/acme/shop/git/commits/abcdef123456",
    ]);
  });

  const projects: Record<string, string> = {};

  for (const p of PROVIDERS) {
    test(`${p.id}: a project from a linked repo gets its webhook through the API; deleting it removes the webhook`, async () => {
      const f = fakes[p.id]!;
      f.take();
      const name = `shop-${p.id}`;
      // repo_url must be the repository's clone URL at the provider.
      const wrong = await t.call("POST", "/v1/projects", {
        token: alice.token,
        body: { name, repo_url: "https://elsewhere.example/x.git", git: { link_id: linkIds[p.id], repo: f.repoName } },
      });
      expect(wrong.status).toBe(400);
      expect(wrong.json.error.message).toContain("repo_url");
      expect((await t.call("GET", "/v1/projects", { token: alice.token })).json.projects.some((x: { name: string }) => x.name === name)).toBe(false);
      // Someone else's link can't be used.
      const foreign = await t.call("POST", "/v1/projects", { token: bob.token, body: { name, repo_url: f.cloneUrl, git: { link_id: linkIds[p.id], repo: f.repoName } } });
      expect(foreign.status).toBe(400);
      f.take();

      const created = await t.call("POST", "/v1/projects", { token: alice.token, body: { name, repo_url: f.cloneUrl, git: { link_id: linkIds[p.id], repo: f.repoName } } });
      expect(created.status).toBe(201);
      projects[p.id] = created.json.id;
      const gitInfo = await t.call("GET", `/v1/projects/${created.json.id}/git`, { token: alice.token });
      expect(gitInfo.json).toMatchObject({ link: { provider: p.id, repo: f.repoName, status: "active" }, auto_deploy: true, previews: false, webhook: { managed: true, error: null } });
      const hookId = /\/v1\/hooks\/github\/([0-9a-f-]{36})$/.exec(gitInfo.json.webhook_urls.github)![1];
      const secret = (await t.call("GET", `/v1/projects/${created.json.id}/git/webhook-secret`, { token: alice.token })).json.secret;
      expect(secret).toMatch(/^[0-9a-f]{64}$/);
      const hookKind = p.kind;
      const url = `${ORIGIN}/v1/hooks/${hookKind}/${hookId}`;

      const reqs = f.take();
      const create = reqs.find((r) => r.method === "POST" && /\/hooks$/.test(r.path))!;
      const expectedBody: Record<Kind, unknown> = {
        github: { name: "web", active: true, events: ["push", "pull_request"], config: { url, content_type: "json", secret, insecure_ssl: "0" } },
        gitea: { type: "gitea", active: true, events: ["push", "pull_request"], config: { url, content_type: "json", secret } },
        gitlab: { url, token: secret, push_events: true, tag_push_events: false, merge_requests_events: true, enable_ssl_verification: true },
        bitbucket: {
          description: "WiseHosting",
          url,
          active: true,
          secret,
          events: ["repo:push", "pullrequest:created", "pullrequest:updated", "pullrequest:fulfilled", "pullrequest:rejected"],
        },
      };
      const hookPath: Record<Kind, string> = {
        github: "/api/v3/repos/acme/shop/hooks",
        gitea: "/api/v1/repos/acme/shop/hooks",
        gitlab: "/api/v4/projects/acme%2Fweb%2Fshop/hooks",
        bitbucket: "/2.0/repositories/acme/shop/hooks",
      };
      expect(create.path).toBe(hookPath[p.kind]);
      expect(create.json).toEqual(expectedBody[p.kind]);
      expect(create.headers["content-type"]).toBe("application/json");
      expect(f.hooks.size).toBe(1);
      const providerHookId = [...f.hooks.keys()][0]!;
      expect(gitInfo.json.webhook.provider_hook_id).toBe(providerHookId);

      // Deleting the project deletes the webhook at the provider.
      expect((await t.call("DELETE", `/v1/projects/${created.json.id}`, { token: alice.token })).status).toBe(204);
      const del = f.take().find((r) => r.method === "DELETE")!;
      expect(del.path).toBe(`${hookPath[p.kind]}/${encodeURIComponent(providerHookId)}`);
      expect(f.hooks.size).toBe(0);
    });
  }

  describe("push-to-deploy", () => {
    let projectId = "";
    let hookUrl = "";
    let secret = "";
    let n = 0;
    const deliver = (body: unknown, headers: Record<string, string>, path = hookUrl) =>
      t.call("POST", path, { body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json", ...headers } });
    const github = (event: string, body: string, extra: Record<string, string> = {}) => ({
      "x-github-event": event,
      "x-github-delivery": `delivery-${++n}`,
      "x-hub-signature-256": `sha256=${sign(secret, body)}`,
      ...extra,
    });
    const pushBody = (ref: string, after: string) => JSON.stringify({ ref, before: "0".repeat(40), after, repository: { full_name: "acme/shop" }, pusher: { name: "alice" } });
    const deploymentsOf = async () => (await t.call("GET", `/v1/projects/${projectId}/deployments`, { token: alice.token })).json.deployments;

    beforeAll(async () => {
      const f = fakes.github!;
      const created = await t.call("POST", "/v1/projects", { token: alice.token, body: { name: "pushy", repo_url: f.cloneUrl, git: { link_id: linkIds.github, repo: f.repoName } } });
      expect(created.status).toBe(201);
      projectId = created.json.id;
      const s = (await t.call("GET", `/v1/projects/${projectId}/git/webhook-secret`, { token: alice.token })).json;
      secret = s.secret;
      hookUrl = new URL(s.webhook_urls.github).pathname;
      f.take();
    });

    test("a push to the tracked branch deploys exactly the pushed SHA; a replay is refused", async () => {
      const body = pushBody("refs/heads/main", SHA1);
      const headers = github("push", body);
      const r = await deliver(body, headers);
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({ result: "deploying", commit_sha: SHA1 });
      const [row] = await t.sql<{ requested_sha: string; project_id: string; created_by: string | null }[]>`SELECT requested_sha, project_id, created_by FROM deployments WHERE id = ${r.json.deployment_id}`;
      expect(row).toEqual({ requested_sha: SHA1, project_id: projectId, created_by: null });
      // The same delivery again: refused, nothing new queued.
      const again = await deliver(body, headers);
      expect(again.status).toBe(409);
      expect(again.json.error.code).toBe("replayed_delivery");
      expect((await deploymentsOf()).length).toBe(1);
      const [a] = await t.sql<{ actor_email: string; detail: Record<string, unknown> }[]>`
        SELECT actor_email, detail FROM audit_events WHERE action = 'deployment.create' AND target_id = ${r.json.deployment_id}`;
      expect(a).toMatchObject({ actor_email: "webhook:github", detail: { commit_sha: SHA1, trigger: "push", branch: "main" } });
    });

    test("tampered body, wrong secret, missing signature or delivery id: refused, nothing deployed", async () => {
      const before = (await deploymentsOf()).length;
      const body = pushBody("refs/heads/main", SHA2);
      const h = github("push", body);
      expect((await deliver(body.replace(SHA2, SHA1), h)).status).toBe(401);
      expect((await deliver(body + " ", h)).status).toBe(401);
      expect((await deliver(body, { ...h, "x-hub-signature-256": `sha256=${sign("wrong secret", body)}`, "x-github-delivery": "x1" })).status).toBe(401);
      const { "x-hub-signature-256": _sig, ...noSig } = github("push", body);
      expect((await deliver(body, noSig)).status).toBe(401);
      const { "x-github-delivery": _id, ...noId } = github("push", body);
      expect((await deliver(body, noId)).status).toBe(400);
      // A hook id that doesn't exist, or a malformed one.
      expect((await deliver(body, github("push", body), "/v1/hooks/github/00000000-0000-4000-8000-000000000000")).status).toBe(404);
      expect((await deliver(body, github("push", body), "/v1/hooks/github/nope")).status).toBe(404);
      expect((await deliver(body, github("push", body), hookUrl.replace("/github/", "/svn/"))).status).toBe(400);
      expect((await deploymentsOf()).length).toBe(before);
      // The refused tries didn't burn delivery ids: the genuine one still goes through.
      expect((await deliver(body, h)).status).toBe(202);
    });

    test("other branches, tags, pings and deleted branches are acknowledged and ignored", async () => {
      const before = (await deploymentsOf()).length;
      const cases: [string, string, string][] = [
        ["push", pushBody("refs/heads/dev", SHA1), "push to dev, the project follows main"],
        ["push", pushBody("refs/tags/v1.0", SHA1), "tag push"],
        ["push", pushBody("refs/heads/main", "0".repeat(40)), "branch main deleted"],
        ["ping", JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 }), "ping"],
        ["issues", JSON.stringify({ action: "opened" }), "event issues"],
      ];
      for (const [event, body, reason] of cases) {
        const r = await deliver(body, github(event, body));
        expect({ status: r.status, json: r.json }).toEqual({ status: 200, json: { result: "ignored", reason } });
      }
      expect((await deploymentsOf()).length).toBe(before);
    });

    test("auto-deploy off: pushes are acknowledged, nothing deploys", async () => {
      expect((await t.call("PATCH", `/v1/projects/${projectId}/git`, { token: alice.token, body: { auto_deploy: false } })).json.auto_deploy).toBe(false);
      const body = pushBody("refs/heads/main", SHA1);
      const r = await deliver(body, github("push", body));
      expect(r.json).toEqual({ result: "ignored", reason: "auto-deploy is off for this project" });
      await t.call("PATCH", `/v1/projects/${projectId}/git`, { token: alice.token, body: { auto_deploy: true } });
    });

    test("commit statuses follow the deployment: pending, then success or failure, linking to it", async () => {
      const f = fakes.github!;
      await jobs.flush();
      f.take();
      const body = pushBody("refs/heads/main", SHA2);
      const r = await deliver(body, github("push", body));
      const id = r.json.deployment_id;
      const statusPosts = async (n: number) => {
        for (let i = 0; i < 100 && f.requests.filter((x) => x.path.includes("/statuses/")).length < n; i++) await Bun.sleep(20);
        return f.requests.filter((x) => x.path.includes("/statuses/")).map((x) => ({ path: x.path, json: x.json }));
      };
      const target = `${ORIGIN}/projects/${projectId}?deployment=${id}`;
      expect(await statusPosts(1)).toEqual([
        { path: `/api/v3/repos/acme/shop/statuses/${SHA2}`, json: { state: "pending", target_url: target, description: "Deploying on WiseHosting", context: "wisehosting" } },
      ]);
      // The agent reports progress; a repeated pending sends nothing new.
      await t.sql`UPDATE deployments SET status = 'building', commit_sha = ${SHA2} WHERE id = ${id}`;
      t.ctx.events.emit("deployment", { deployment_id: id, project_id: projectId, status: "building" });
      await t.sql`UPDATE deployments SET status = 'running' WHERE id = ${id}`;
      t.ctx.events.emit("deployment", { deployment_id: id, project_id: projectId, status: "running" });
      const posted = await statusPosts(2);
      expect(posted).toHaveLength(2);
      expect(posted[1]).toEqual({ path: `/api/v3/repos/acme/shop/statuses/${SHA2}`, json: { state: "success", target_url: target, description: "Deployed on WiseHosting", context: "wisehosting" } });
      // A late or repeated progress event never takes a result back to pending.
      t.ctx.events.emit("deployment", { deployment_id: id, project_id: projectId, status: "starting" });
      await Bun.sleep(100);
      await jobs.flush();
      expect(f.requests.filter((x) => x.path.includes("/statuses/"))).toHaveLength(2);
      f.take();
    });

    test("a manual deploy can target a branch or an exact commit", async () => {
      const br = await t.call("POST", `/v1/projects/${projectId}/deployments`, { token: alice.token, body: { branch: "release/1.2" } });
      expect(br.status).toBe(202);
      const sha = await t.call("POST", `/v1/projects/${projectId}/deployments`, { token: alice.token, body: { commit_sha: SHA1 } });
      expect(sha.status).toBe(202);
      const plain = await t.call("POST", `/v1/projects/${projectId}/deployments`, { token: alice.token });
      expect(plain.status).toBe(202);
      const rows = await t.sql<{ id: string; requested_branch: string | null; requested_sha: string | null }[]>`
        SELECT id, requested_branch, requested_sha FROM deployments WHERE id IN ${t.sql([br.json.id, sha.json.id, plain.json.id])}`;
      const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
      expect(byId[br.json.id]).toMatchObject({ requested_branch: "release/1.2", requested_sha: null });
      expect(byId[sha.json.id]).toMatchObject({ requested_branch: null, requested_sha: SHA1 });
      expect(byId[plain.json.id]).toMatchObject({ requested_branch: null, requested_sha: null });
      for (const body of [{ branch: "main", commit_sha: SHA1 }, { branch: "--upload-pack=x" }, { commit_sha: "abc" }, { tag: "v1" }])
        expect((await t.call("POST", `/v1/projects/${projectId}/deployments`, { token: alice.token, body })).status).toBe(400);
    });

    test("the deploy job carries the clone credential only while repo_url is the linked repository", async () => {
      const sent: { type: string; body: any }[] = [];
      const hub = t.ctx.hub as unknown as { send: (w: string, type: string, body: unknown) => boolean };
      const original = hub.send;
      hub.send = (_w, type, body) => (sent.push({ type, body }), true);
      try {
        const dep = await t.call("POST", `/v1/projects/${projectId}/deployments`, { token: alice.token, body: { branch: "dev" } });
        const [w] = await t.sql<{ id: string }[]>`INSERT INTO workers (name, api_key_hash, capacity_mb) VALUES ('w-fake', 'x', 1024) RETURNING id`;
        expect(await dispatchDeploy(t.ctx, dep.json.id, w!.id)).toBe(true);
        const job = sent.find((s) => s.type === "job.deploy")!.body;
        expect(job.branch).toBe("dev");
        expect(job.clone_token.username).toBe("x-access-token");
        expect(job.clone_token.token).toMatch(/^acc-github-/);
        // The credential is for the linked clone URL only: another repo_url gets none.
        await t.call("PATCH", `/v1/projects/${projectId}`, { token: alice.token, body: { repo_url: "https://attacker.example/acme/shop.git" } });
        expect(await cloneCredential(t.ctx, projectId)).toBeUndefined();
        await t.call("PATCH", `/v1/projects/${projectId}`, { token: alice.token, body: { repo_url: fakes.github!.cloneUrl } });
        expect(await cloneCredential(t.ctx, projectId)).toBeDefined();
      } finally {
        hub.send = original;
      }
    });

    test("previews: a pull request gets its own project at its head commit; closing it deletes it", async () => {
      const f = fakes.github!;
      await t.call("PUT", `/v1/projects/${projectId}/env`, { token: alice.token, body: { vars: { API_KEY: "k-123" } } });
      const pr = (action: string, number: number, sha: string, headRepo = "acme/shop") =>
        JSON.stringify({
          action,
          number,
          pull_request: { number, head: { sha, ref: "feature", repo: { full_name: headRepo } }, base: { ref: "main", repo: { full_name: "acme/shop" } } },
          repository: { full_name: "acme/shop" },
        });
      // Off by default.
      let body = pr("opened", 7, SHA1);
      expect((await deliver(body, github("pull_request", body))).json).toEqual({ result: "ignored", reason: "preview deployments are off for this project" });
      expect((await t.call("PATCH", `/v1/projects/${projectId}/git`, { token: alice.token, body: { previews: true } })).json.previews).toBe(true);
      // A fork's pull request never runs with the project's secrets.
      body = pr("opened", 8, SHA1, "mallory/shop");
      expect((await deliver(body, github("pull_request", body))).json.reason).toContain("forks");

      body = pr("opened", 7, SHA1);
      const opened = await deliver(body, github("pull_request", body));
      expect(opened.status).toBe(202);
      expect(opened.json).toMatchObject({ result: "preview_deploying", pr_number: 7, commit_sha: SHA1, url: "http://pushy-pr-7.localhost:8000" });
      const previewId = opened.json.preview_project_id;
      const preview = (await t.call("GET", `/v1/projects/${previewId}`, { token: alice.token })).json;
      expect(preview).toMatchObject({ name: "pushy-pr-7", repo_url: f.cloneUrl, branch: "main" });
      expect((await t.call("GET", `/v1/projects/${previewId}/env?reveal=true`, { token: alice.token })).json.vars).toEqual({ API_KEY: "k-123" });
      expect((await t.call("GET", `/v1/projects/${previewId}/git`, { token: alice.token })).json).toMatchObject({
        preview_of: { project_id: projectId, pr_number: 7 },
        auto_deploy: false,
        link: { repo: "acme/shop" },
      });
      const [d1] = await t.sql<{ requested_sha: string; project_id: string }[]>`SELECT requested_sha, project_id FROM deployments WHERE id = ${opened.json.deployment_id}`;
      expect(d1).toEqual({ requested_sha: SHA1, project_id: previewId });
      // The preview clones with the link's credential too.
      expect(await cloneCredential(t.ctx, previewId)).toMatchObject({ username: "x-access-token" });

      // A new push to the pull request: the same preview deploys the new head.
      body = pr("synchronize", 7, SHA2);
      const synced = await deliver(body, github("pull_request", body));
      expect(synced.json).toMatchObject({ result: "preview_deploying", preview_project_id: previewId, commit_sha: SHA2 });
      // Its commit status links to the preview itself once it runs.
      f.take();
      await t.sql`UPDATE deployments SET status = 'running', commit_sha = ${SHA2} WHERE id = ${synced.json.deployment_id}`;
      t.ctx.events.emit("deployment", { deployment_id: synced.json.deployment_id, project_id: previewId, status: "running" });
      for (let i = 0; i < 100 && !f.requests.some((r) => r.json?.state === "success"); i++) await Bun.sleep(20);
      expect(f.requests.find((r) => r.json?.state === "success")?.json).toEqual({
        state: "success",
        target_url: "http://pushy-pr-7.localhost:8000",
        description: "Preview deployed on WiseHosting",
        context: "wisehosting",
      });

      // Closed (or merged): the preview project is deleted.
      body = pr("closed", 7, SHA2);
      expect((await deliver(body, github("pull_request", body))).json).toEqual({ result: "preview_removed", pr_number: 7 });
      expect((await t.call("GET", `/v1/projects/${previewId}`, { token: alice.token })).status).toBe(404);
      body = pr("closed", 7, SHA2);
      expect((await deliver(body, github("pull_request", body))).json).toEqual({ result: "ignored", reason: "pull request 7 has no preview" });
      await t.call("PATCH", `/v1/projects/${projectId}/git`, { token: alice.token, body: { previews: false } });
    });

    test("an unlinked project pastes URL and secret by hand; GitLab's token header works", async () => {
      const created = await t.call("POST", "/v1/projects", { token: alice.token, body: { name: "manual", repo_url: "https://gitlab.example/me/manual.git" } });
      const info = (await t.call("GET", `/v1/projects/${created.json.id}/git`, { token: alice.token })).json;
      expect(info).toMatchObject({ link: null, auto_deploy: true, webhook: { managed: false } });
      // A read-only token sees the URLs but not the secret.
      const reader = await t.userWithToken("reader@example.com", "member", "read");
      expect((await t.call("GET", `/v1/projects/${created.json.id}/git/webhook-secret`, { token: reader.token })).status).toBe(403);
      expect((await t.call("GET", `/v1/projects/${created.json.id}/git/webhook-secret`, { token: bob.token })).status).toBe(404);
      const s = (await t.call("GET", `/v1/projects/${created.json.id}/git/webhook-secret`, { token: alice.token })).json;
      const path = new URL(s.webhook_urls.gitlab).pathname;
      const body = JSON.stringify({ object_kind: "push", ref: "refs/heads/main", before: "0".repeat(40), after: SHA1, checkout_sha: SHA1, project: { path_with_namespace: "me/manual" } });
      const ok = await t.call("POST", path, { body, headers: { "content-type": "application/json", "x-gitlab-event": "Push Hook", "x-gitlab-token": s.secret, "x-gitlab-event-uuid": "gl-1" } });
      expect(ok.status).toBe(202);
      const bad = await t.call("POST", path, { body, headers: { "content-type": "application/json", "x-gitlab-event": "Push Hook", "x-gitlab-token": "nope", "x-gitlab-event-uuid": "gl-2" } });
      expect(bad.status).toBe(401);
      const [row] = await t.sql<{ requested_sha: string }[]>`SELECT requested_sha FROM deployments WHERE id = ${ok.json.deployment_id}`;
      expect(row!.requested_sha).toBe(SHA1);
    });
  });

  test("gitlab: a token about to expire is refreshed before use, with the documented request", async () => {
    const f = fakes.gitlab!;
    await t.sql`UPDATE git_links SET expires_at = now() + interval '30 seconds' WHERE id = ${linkIds.gitlab!}`;
    f.take();
    const r = await t.call("GET", `/v1/git-links/${linkIds.gitlab}/repos`, { token: alice.token });
    expect(r.status).toBe(200);
    const [refresh, list] = f.take();
    expect(refresh!.path).toBe("/oauth/token");
    expect(refresh!.form).toEqual({
      grant_type: "refresh_token",
      refresh_token: expect.stringMatching(/^ref-gitlab-/),
      redirect_uri: `${ORIGIN}/v1/git-providers/gitlab/callback`,
      client_id: "gl-client",
      client_secret: "gl-secret",
    });
    expect(list!.path.startsWith("/api/v4/projects?")).toBe(true);
    const [row] = await t.sql<{ expires_at: Date; token_version: number }[]>`SELECT expires_at, token_version FROM git_links WHERE id = ${linkIds.gitlab!}`;
    expect(row!.expires_at.getTime()).toBeGreaterThan(Date.now() + 3600_000);
    // The background job refreshes ahead of time too (bitbucket: Basic client auth).
    const b = fakes.bitbucket!;
    await t.sql`UPDATE git_links SET expires_at = now() + interval '60 seconds' WHERE id = ${linkIds.bitbucket!}`;
    b.take();
    const { refreshExpiring } = await import("../src/gitproviders/service");
    await refreshExpiring(t.ctx);
    const [bb] = b.take();
    expect(bb!.form).toEqual({ grant_type: "refresh_token", refresh_token: expect.stringMatching(/^ref-bitbucket-/) });
    expect(bb!.headers.authorization).toBe("Basic " + Buffer.from("bb-client:bb-secret").toString("base64"));
  });

  test("a link the provider no longer accepts shows as revoked", async () => {
    // Codeberg: the user revoked our access; the next call gets 401.
    fakes.codeberg!.revokeAll();
    const r = await t.call("GET", `/v1/git-links/${linkIds.codeberg}/repos`, { token: alice.token });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("link_revoked");
    // GitLab: the refresh token is refused.
    fakes.gitlab!.opts.refuseRefresh = true;
    await t.sql`UPDATE git_links SET expires_at = now() - interval '1 second' WHERE id = ${linkIds.gitlab!}`;
    expect((await t.call("GET", `/v1/git-links/${linkIds.gitlab}/repos`, { token: alice.token })).status).toBe(409);
    const links = (await t.call("GET", "/v1/git-links", { token: alice.token })).json.links;
    const status = Object.fromEntries(links.map((l: { provider: string; status: string }) => [l.provider, l.status]));
    expect(status).toMatchObject({ codeberg: "revoked", gitlab: "revoked", github: "active" });
    expect(links.find((l: { provider: string }) => l.provider === "gitlab").revoked_reason).toBe("the provider refused the refresh token");
    // Linking again makes it active.
    fakes.gitlab!.opts.refuseRefresh = false;
    expect((await link("gitlab", aliceCookie)).location).toBe("/account?git_linked=gitlab");
    const again = (await t.call("GET", "/v1/git-links", { token: alice.token })).json.links.find((l: { provider: string }) => l.provider === "gitlab");
    expect(again).toMatchObject({ id: linkIds.gitlab, status: "active", revoked_reason: null });
  });

  test("key rotation re-encrypts git tokens and webhook secrets", async () => {
    const { rotateGitSecrets } = await import("../src/gitproviders/rotate");
    const secretBefore = (await t.call("GET", `/v1/projects/${(await t.sql`SELECT id FROM projects WHERE name = 'pushy'`)[0]!.id}/git/webhook-secret`, { token: alice.token })).json.secret;
    const oldKey = t.config.masterKey;
    const newKey = randomBytes(32);
    const n = await t.sql.begin((tx) => rotateGitSecrets(tx, oldKey, newKey));
    expect(n.git_tokens).toBeGreaterThanOrEqual(4);
    expect(n.webhook_secrets).toBeGreaterThanOrEqual(2);
    expect(await t.sql.begin((tx) => rotateGitSecrets(tx, oldKey, newKey))).toEqual({ git_tokens: 0, webhook_secrets: 0 });
    t.config.masterKey = newKey;
    try {
      expect((await t.call("GET", `/v1/git-links/${linkIds.github}/repos`, { token: alice.token })).status).toBe(200);
      const pushy = (await t.sql`SELECT id FROM projects WHERE name = 'pushy'`)[0]!.id;
      expect((await t.call("GET", `/v1/projects/${pushy}/git/webhook-secret`, { token: alice.token })).json.secret).toBe(secretBefore);
    } finally {
      await t.sql.begin((tx) => rotateGitSecrets(tx, newKey, oldKey));
      t.config.masterKey = oldKey;
    }
  });

  test("unlinking deletes the link and the webhooks made through it", async () => {
    const f = fakes.github!;
    f.take();
    const [hookAtProvider] = [...f.hooks.keys()]; // the "pushy" project's webhook
    expect(f.hooks.size).toBe(1);
    expect((await t.call("DELETE", `/v1/git-links/${linkIds.github}`, { token: bob.token })).status).toBe(404);
    expect((await t.call("DELETE", `/v1/git-links/${linkIds.github}`, { token: alice.token })).status).toBe(204);
    const reqs = f.take().map((r) => `${r.method} ${r.path}`);
    expect(reqs).toEqual([`DELETE /api/v3/repos/acme/shop/hooks/${hookAtProvider}`, "DELETE /api/v3/applications/gh-client/token"]);
    expect(f.hooks.size).toBe(0);
    expect((await t.call("GET", "/v1/git-links", { token: alice.token })).json.links.some((l: { provider: string }) => l.provider === "github")).toBe(false);
  });
});
