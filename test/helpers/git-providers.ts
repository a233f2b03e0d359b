/**
 * Local stand-ins for GitHub (Enterprise-style, API under /api/v3), GitLab,
 * Bitbucket Cloud and Forgejo/Gitea: each serves its provider's documented
 * OAuth token endpoint and the REST endpoints we call (user, repos, branches,
 * hooks, statuses), on loopback, and records every request it gets so tests
 * can assert exactly what we sent.
 */
import { randomBytes } from "node:crypto";

export type Kind = "github" | "gitlab" | "bitbucket" | "gitea";

export type Recorded = {
  method: string;
  /** Path and query, as received. */
  path: string;
  headers: Record<string, string>;
  body: string;
  form?: Record<string, string>;
  json?: any;
};

export type FakeProvider = ReturnType<typeof startFakeProvider>;

const API_PREFIX: Record<Kind, string> = { github: "/api/v3", gitlab: "/api/v4", bitbucket: "/2.0", gitea: "/api/v1" };
const TOKEN_PATH: Record<Kind, string> = {
  github: "/login/oauth/access_token",
  gitlab: "/oauth/token",
  bitbucket: "/site/oauth2/access_token",
  gitea: "/login/oauth/access_token",
};

export function startFakeProvider(kind: Kind, client: { id: string; secret: string }) {
  const requests: Recorded[] = [];
  const codes = new Set<string>();
  const access = new Set<string>();
  const refresh = new Set<string>();
  const hooks = new Map<string, any>();
  let hookSeq = 100;
  /** Seconds until issued access tokens expire (undefined: they don't, and no refresh token is issued). */
  const opts = { expiresIn: undefined as number | undefined, refuseRefresh: false };
  const repoName = kind === "gitlab" ? "acme/web/shop" : "acme/shop";
  const cloneUrl = `https://${kind}.example/${repoName}.git`;
  const BRANCH_SHA = "1111111111111111111111111111111111111111";

  function issue() {
    const a = `acc-${kind}-${randomBytes(6).toString("hex")}`;
    access.add(a);
    const out: Record<string, unknown> = { access_token: a, token_type: "bearer" };
    if (opts.expiresIn !== undefined) {
      const r = `ref-${kind}-${randomBytes(6).toString("hex")}`;
      refresh.add(r);
      out.refresh_token = r;
      out.expires_in = opts.expiresIn;
    }
    if (kind === "github") out.scope = "repo,admin:repo_hook";
    return out;
  }

  const json = (v: unknown, status = 200) => Response.json(v, { status });

  function clientOk(req: Recorded): boolean {
    if (kind === "bitbucket") return req.headers.authorization === "Basic " + Buffer.from(`${client.id}:${client.secret}`).toString("base64");
    return req.form?.client_id === client.id && req.form?.client_secret === client.secret;
  }

  function repoJson() {
    switch (kind) {
      case "github":
      case "gitea":
        return { id: 1, full_name: repoName, private: true, clone_url: cloneUrl, default_branch: "main", html_url: `https://${kind}.example/${repoName}` };
      case "gitlab":
        return { id: 1, path_with_namespace: repoName, visibility: "private", http_url_to_repo: cloneUrl, default_branch: "main", web_url: `https://gitlab.example/${repoName}` };
      case "bitbucket":
        return {
          full_name: repoName,
          is_private: true,
          mainbranch: { name: "main" },
          links: { clone: [{ name: "https", href: `https://someone@bitbucket.example/${repoName}.git` }], html: { href: `https://bitbucket.example/${repoName}` } },
        };
    }
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => (headers[k] = v));
    const body = await req.text();
    const rec: Recorded = { method: req.method, path: url.pathname + url.search, headers, body };
    if ((headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) rec.form = Object.fromEntries(new URLSearchParams(body));
    if ((headers["content-type"] ?? "").startsWith("application/json") && body) rec.json = JSON.parse(body);
    requests.push(rec);

    if (req.method === "POST" && url.pathname === TOKEN_PATH[kind]) {
      if (!clientOk(rec)) return json({ error: "invalid_client" }, 401);
      const f = rec.form ?? {};
      if (f.grant_type === "refresh_token") {
        if (opts.refuseRefresh || !refresh.has(f.refresh_token ?? "")) return json({ error: "invalid_grant" }, 400);
        refresh.delete(f.refresh_token!);
        return json(issue());
      }
      if (!codes.has(f.code ?? "")) return kind === "github" ? json({ error: "bad_verification_code" }) : json({ error: "invalid_grant" }, 400);
      codes.delete(f.code!);
      return json(issue());
    }
    if (kind === "gitlab" && req.method === "POST" && url.pathname === "/oauth/revoke") return json({});
    if (kind === "github" && req.method === "DELETE" && url.pathname === `${API_PREFIX.github}/applications/${client.id}/token`) return new Response(null, { status: 204 });

    const prefix = API_PREFIX[kind];
    if (!url.pathname.startsWith(prefix)) return json({ message: "Not Found" }, 404);
    const token = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
    if (!token || !access.has(token)) return json({ message: "Bad credentials" }, 401);
    // Match on the raw (still-encoded) path: GitLab addresses projects by their URL-encoded full path.
    const raw = req.url.slice(req.url.indexOf(prefix, url.origin.length) + prefix.length).split("?")[0]!;
    const repoPath = kind === "gitlab" ? `/projects/${encodeURIComponent(repoName)}` : kind === "bitbucket" ? `/repositories/${repoName}` : `/repos/${repoName}`;

    if (req.method === "GET" && raw === "/user") {
      if (kind === "bitbucket") return json({ uuid: "{u-1}", nickname: "alice-bb", display_name: "Alice" });
      if (kind === "gitlab") return json({ id: 42, username: "alice-gl" });
      return json({ id: 42, login: `alice-${kind}` });
    }
    if (req.method === "GET" && (raw === "/user/repos" || raw === "/projects" || raw === "/repositories")) {
      const list = [repoJson()];
      return json(kind === "bitbucket" ? { values: list, pagelen: 100 } : list);
    }
    if (req.method === "GET" && raw === repoPath) return json(repoJson());
    if (req.method === "GET" && raw === repoPath + (kind === "gitlab" ? "/repository/branches" : kind === "bitbucket" ? "/refs/branches" : "/branches")) {
      const b = [
        { name: "main", sha: BRANCH_SHA },
        { name: "dev", sha: BRANCH_SHA.replace(/1/g, "2") },
      ];
      if (kind === "bitbucket") return json({ values: b.map((x) => ({ name: x.name, target: { hash: x.sha } })) });
      if (kind === "github") return json(b.map((x) => ({ name: x.name, commit: { sha: x.sha } })));
      return json(b.map((x) => ({ name: x.name, commit: { id: x.sha } })));
    }
    if (req.method === "POST" && raw === repoPath + "/hooks") {
      const id = kind === "bitbucket" ? `{hook-${++hookSeq}}` : ++hookSeq;
      hooks.set(String(id), rec.json);
      return json(kind === "bitbucket" ? { uuid: id } : { id }, 201);
    }
    const hookDel = raw.startsWith(repoPath + "/hooks/") ? decodeURIComponent(raw.slice((repoPath + "/hooks/").length)) : null;
    if (req.method === "DELETE" && hookDel !== null) {
      if (!hooks.delete(hookDel)) return json({ message: "Not Found" }, 404);
      return new Response(null, { status: 204 });
    }
    const commit = new RegExp(`^${repoPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/(?:commits|git/commits|repository/commits|commit)/([0-9a-f]{7,40})$`).exec(raw);
    if (req.method === "GET" && commit) {
      const full = (commit[1]! + "c".repeat(40)).slice(0, 40);
      return json(kind === "bitbucket" ? { hash: full } : kind === "gitlab" ? { id: full } : { sha: full });
    }
    if (req.method === "POST" && (/\/statuses\/[0-9a-f]{40}$/.test(raw) || /\/commit\/[0-9a-f]{40}\/statuses\/build$/.test(raw))) return json({ id: 1 }, 201);
    return json({ message: "Not Found" }, 404);
  }

  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handle });
  const base = `http://127.0.0.1:${server.port}`;
  return {
    kind,
    base,
    apiBase: base + API_PREFIX[kind],
    repoName,
    cloneUrl,
    requests,
    hooks,
    opts,
    /** A code the token endpoint accepts once (what the provider would put in the redirect). */
    newCode(): string {
      const c = `code-${randomBytes(6).toString("hex")}`;
      codes.add(c);
      return c;
    },
    /** Makes the provider refuse every token issued so far (the user revoked our access). */
    revokeAll() {
      access.clear();
      refresh.clear();
    },
    take(filter?: (r: Recorded) => boolean): Recorded[] {
      const out = filter ? requests.filter(filter) : [...requests];
      requests.length = 0;
      return out;
    },
    stop: () => server.stop(true),
  };
}
