/**
 * Git command builders and repository URL validation. Pure: nothing here runs
 * git; tasks pass the arrays to exec.run with {@link gitEnv}.
 *
 * Repository URLs come from users, so they are checked twice: here (only
 * https://, or local paths when the operator allows them) and by git itself,
 * which runs with `protocol.allow=never` plus an allow-list, so transports
 * like `ext::` stay off even if a URL slipped past the check.
 */
import { isValidBranch } from "../src/protocol/api";
import { repoUrlProblem } from "../src/protocol/repo-url";
import { Sensitive } from "./exec";

export { isValidBranch };

export type RepoUrlCheck = { ok: true; local: boolean } | { ok: false; reason: string };

/**
 * Accepts `https://host/path` (no credentials, no whitespace or control
 * characters). With allowLocal also `file:///abs/path` and `/abs/path`.
 * The control plane's own rules (src/protocol/repo-url.ts) must pass too.
 */
export function validateRepoUrl(url: string, allowLocal: boolean): RepoUrlCheck {
  const own = checkRepoUrl(url, allowLocal);
  if (!own.ok) return own;
  const shared = repoUrlProblem(url, allowLocal);
  return shared === null ? own : { ok: false, reason: `repository URL ${shared}` };
}

function checkRepoUrl(url: string, allowLocal: boolean): RepoUrlCheck {
  if (url.length === 0) return { ok: false, reason: "repository URL is empty" };
  if (url.length > 2048) return { ok: false, reason: "repository URL is too long" };
  if (url.startsWith("-")) return { ok: false, reason: "repository URL must not start with '-'" };
  if (/[\x00-\x20\x7f]/.test(url)) return { ok: false, reason: "repository URL must not contain whitespace or control characters" };
  if (url.includes("\\")) return { ok: false, reason: "repository URL must not contain '\\'" };

  if (url.startsWith("https://")) return checkHttps(url);
  if (url.startsWith("file://") || url.startsWith("/")) {
    if (!allowLocal) return { ok: false, reason: "local repositories are not allowed on this cluster; use an https:// URL" };
    return checkLocal(url);
  }
  if (url.startsWith("http://")) return { ok: false, reason: "plain http:// is not allowed; use https://" };
  return { ok: false, reason: "only https:// repository URLs are allowed" };
}

function checkHttps(url: string): RepoUrlCheck {
  // Look at the raw authority: WHATWG URL parsing is more forgiving than git's.
  const authority = url.slice("https://".length).split(/[/?#]/, 1)[0] ?? "";
  if (authority.includes("@")) return { ok: false, reason: "repository URL must not contain credentials" };
  if (authority.length === 0) return { ok: false, reason: "repository URL has no host" };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: "repository URL is not a valid URL" };
  }
  if (parsed.protocol !== "https:" || parsed.hostname === "") return { ok: false, reason: "repository URL has no host" };
  if (parsed.username || parsed.password) return { ok: false, reason: "repository URL must not contain credentials" };
  return { ok: true, local: false };
}

function checkLocal(url: string): RepoUrlCheck {
  let path = url;
  if (url.startsWith("file://")) {
    path = url.slice("file://".length);
    if (!path.startsWith("/")) return { ok: false, reason: "file:// URLs must name an absolute path on this host (file:///path)" };
  }
  if (path.split("/").includes("..")) return { ok: false, reason: "local repository path must not contain '..'" };
  return { ok: true, local: true };
}

/**
 * `git clone` of one branch, shallow, with transports restricted to https
 * (plus file for local repositories). `--` keeps url and dir from ever being
 * read as options.
 */
export function cloneArgs(url: string, branch: string, dir: string): string[] {
  return [
    "git",
    ...transportConfig(url),
    "clone",
    "--depth",
    "1",
    "--branch",
    branch,
    "--single-branch",
    "--no-tags",
    "--",
    url,
    dir,
  ];
}

/** Only https (and file, for local repositories) may be used as a transport. */
function transportConfig(url: string): string[] {
  const local = url.startsWith("file://") || url.startsWith("/");
  return ["-c", "protocol.allow=never", "-c", "protocol.https.allow=always", ...(local ? ["-c", "protocol.file.allow=always"] : [])];
}

/**
 * Fetches exactly one commit into a shallow clone (a rollback or a pinned
 * deploy of an older commit). `sha` must pass isCommitSha first.
 */
export function fetchCommitArgs(url: string, dir: string, sha: string): string[] {
  if (!isCommitSha(sha)) throw new Error("not a commit id");
  return ["git", ...transportConfig(url), "-C", dir, "fetch", "--depth", "1", "--no-tags", "origin", sha];
}

/** Checks out a fetched commit, detached. */
export function checkoutCommitArgs(dir: string, sha: string): string[] {
  if (!isCommitSha(sha)) throw new Error("not a commit id");
  return ["git", "-C", dir, "checkout", "--quiet", "--detach", sha];
}

/** `git -C dir rev-parse HEAD`: prints the checked-out commit. */
export function revParseArgs(dir: string): string[] {
  return ["git", "-C", dir, "rev-parse", "HEAD"];
}

/** True for a full sha1 or sha256 commit id as rev-parse prints it. */
export function isCommitSha(s: string): boolean {
  return /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(s);
}

/** Inherited from the agent's environment so clones work behind a proxy or custom CA. */
const PASS_THROUGH = [
  "PATH",
  "http_proxy",
  "https_proxy",
  "HTTPS_PROXY",
  "no_proxy",
  "NO_PROXY",
  "all_proxy",
  "ALL_PROXY",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
];

/** A private repository's HTTP credential (a linked git account's token) for one clone. */
export type CloneCredential = { url: string; username: string; token: Sensitive };

/**
 * The HTTP header git sends with a credential, and the URL prefix it is
 * limited to (`http.<url>.extraHeader`): only requests to the repository's
 * own scheme://host[:port]/ carry it, never a redirect elsewhere.
 */
export function credentialConfig(c: CloneCredential): { key: string; value: Sensitive } {
  const u = new URL(c.url);
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error("a clone credential is only for http(s) repositories");
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(c.username) || !/^[\x21-\x7e]+$/.test(c.token.reveal())) throw new Error("malformed clone credential");
  const basic = Buffer.from(`${c.username}:${c.token.reveal()}`).toString("base64");
  return { key: `http.${u.protocol}//${u.host}/.extraHeader`, value: new Sensitive(`Authorization: Basic ${basic}`) };
}

/**
 * The complete environment for a git run (use with inheritEnv: false): no
 * prompts, no system or user config (HOME is an empty directory), and only a
 * few network settings taken from the agent. A `credential` goes in as
 * GIT_CONFIG_* variables (an http.extraHeader for the repository's host) —
 * never in argv, a URL or a file; the values stay Sensitive until the child.
 */
export function gitEnv(home: string, from: Record<string, string | undefined> = process.env, credential?: CloneCredential): Record<string, string | Sensitive> {
  const env: Record<string, string | Sensitive> = {
    GIT_TERMINAL_PROMPT: "0",
    GIT_PROTOCOL_FROM_USER: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    HOME: home,
    LC_ALL: "C",
  };
  for (const k of PASS_THROUGH) {
    const v = from[k];
    if (v !== undefined) env[k] = v;
  }
  env.PATH ??= "/usr/local/bin:/usr/bin:/bin";
  if (credential) {
    const { key, value } = credentialConfig(credential);
    env.GIT_CONFIG_COUNT = "1";
    env.GIT_CONFIG_KEY_0 = key;
    env.GIT_CONFIG_VALUE_0 = value;
  }
  return env;
}
