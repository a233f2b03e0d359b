import { describe, expect, test } from "bun:test";
import { checkoutCommitArgs, cloneArgs, fetchCommitArgs, gitEnv, isCommitSha, isValidBranch, revParseArgs, validateRepoUrl } from "./git";

describe("validateRepoUrl", () => {
  test("accepts plain https URLs", () => {
    for (const url of ["https://github.com/acme/app.git", "https://git.example.com:8443/a/b"]) {
      expect(validateRepoUrl(url, false)).toEqual({ ok: true, local: false });
    }
  });

  test("refuses option and transport injection", () => {
    for (const url of [
      "-uupload-pack=touch /tmp/x",
      "--upload-pack=x",
      "--upload-pack=touch /tmp/x",
      "ext::sh -c touch% /tmp/pwned",
      "ext::sh",
      "fd::17",
      "https::ext::sh",
      "https://x\n",
      "https://x/\r",
      "https://x/ a",
      "https://x/\x00",
      "https://x/\x7f",
      "https://host/a::b",
      "https://evil\\@github.com/x",
    ]) {
      expect(validateRepoUrl(url, false).ok).toBe(false);
      expect(validateRepoUrl(url, true).ok).toBe(false);
    }
  });

  test("refuses other schemes and credentials", () => {
    const cases: [string, RegExp][] = [
      ["http://github.com/a/b", /http:\/\/ is not allowed/],
      ["git://github.com/a/b", /only https/],
      ["ssh://git@github.com/a/b", /only https/],
      ["git@github.com:a/b.git", /only https/],
      ["https://user:pw@host/r", /credentials/],
      ["https://token@host/r", /credentials/],
      ["https:///path", /no host/],
      ["", /empty/],
      ["https://x/" + "a".repeat(2048), /too long/],
    ];
    for (const [url, reason] of cases) {
      const r = validateRepoUrl(url, true);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    }
  });

  test("local repositories only when allowed", () => {
    expect(validateRepoUrl("file:///etc", false).ok).toBe(false);
    expect(validateRepoUrl("/srv/repo", false).ok).toBe(false);
    expect(validateRepoUrl("file:///srv/repo", true)).toEqual({ ok: true, local: true });
    expect(validateRepoUrl("/srv/repo", true)).toEqual({ ok: true, local: true });
    expect(validateRepoUrl("file://relative/x", true).ok).toBe(false);
    expect(validateRepoUrl("/srv/../etc", true).ok).toBe(false);
  });
});

describe("isValidBranch", () => {
  test("accepts ordinary names", () => {
    for (const b of ["main", "release/1.2", "feature-x_y", "v1.0"]) expect(isValidBranch(b)).toBe(true);
  });
  test("refuses option-like and malformed names", () => {
    for (const b of ["-x", "--upload-pack=x", "a..b", "a b", "a~1", "x.lock", "a^", "a:b", "a?", "a*", "a[", "a\\b", "/a", "a/", "a//b", ".a", "a/.b", "a.", "@", "a@{1}", "a\nb", ""]) {
      expect(isValidBranch(b)).toBe(false);
    }
  });
});

test("cloneArgs: shallow single-branch clone, https only, `--` before url and dir", () => {
  expect(cloneArgs("https://github.com/a/b.git", "main", "/w/src")).toEqual([
    "git",
    "-c",
    "protocol.allow=never",
    "-c",
    "protocol.https.allow=always",
    "clone",
    "--depth",
    "1",
    "--branch",
    "main",
    "--single-branch",
    "--no-tags",
    "--",
    "https://github.com/a/b.git",
    "/w/src",
  ]);
});

test("cloneArgs: local repositories also allow the file protocol", () => {
  for (const url of ["file:///srv/repo", "/srv/repo"]) {
    expect(cloneArgs(url, "dev", "/w/src")).toEqual([
      "git",
      "-c",
      "protocol.allow=never",
      "-c",
      "protocol.https.allow=always",
      "-c",
      "protocol.file.allow=always",
      "clone",
      "--depth",
      "1",
      "--branch",
      "dev",
      "--single-branch",
      "--no-tags",
      "--",
      url,
      "/w/src",
    ]);
  }
});

test("revParseArgs", () => {
  expect(revParseArgs("/w/src")).toEqual(["git", "-C", "/w/src", "rev-parse", "HEAD"]);
});

test("isCommitSha", () => {
  expect(isCommitSha("a".repeat(40))).toBe(true);
  expect(isCommitSha("0123456789abcdef".repeat(4))).toBe(true);
  expect(isCommitSha("A".repeat(40))).toBe(false);
  expect(isCommitSha("a".repeat(39))).toBe(false);
  expect(isCommitSha("HEAD")).toBe(false);
});

test("gitEnv: no prompts, no system or user config, only proxy settings passed through", () => {
  const env = gitEnv("/tmp/home", { PATH: "/usr/bin", https_proxy: "http://proxy:3128", GIT_DIR: "/evil", GIT_SSH_COMMAND: "x", HOME: "/root" });
  expect(env).toEqual({
    GIT_TERMINAL_PROMPT: "0",
    GIT_PROTOCOL_FROM_USER: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    HOME: "/tmp/home",
    LC_ALL: "C",
    PATH: "/usr/bin",
    https_proxy: "http://proxy:3128",
  });
  expect(gitEnv("/h", {}).PATH).toBe("/usr/local/bin:/usr/bin:/bin");
});

test("fetching and checking out one commit: transports restricted, sha checked", () => {
  const sha = "a".repeat(40);
  expect(fetchCommitArgs("https://git.example.com/r.git", "/w/src", sha)).toEqual([
    "git", "-c", "protocol.allow=never", "-c", "protocol.https.allow=always", "-C", "/w/src", "fetch", "--depth", "1", "--no-tags", "origin", sha,
  ]);
  expect(fetchCommitArgs("file:///srv/r", "/w/src", sha)).toContain("protocol.file.allow=always");
  expect(checkoutCommitArgs("/w/src", sha)).toEqual(["git", "-C", "/w/src", "checkout", "--quiet", "--detach", sha]);
  expect(() => fetchCommitArgs("https://x/r", "/w", "--upload-pack=x")).toThrow();
  expect(() => checkoutCommitArgs("/w", "HEAD~1")).toThrow();
});
