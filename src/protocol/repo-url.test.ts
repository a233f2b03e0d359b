import { expect, test } from "bun:test";
import { repoUrlProblem } from "./repo-url";
import { isValidBranch } from "./api";

test("https URLs pass; local ones only when allowed", () => {
  expect(repoUrlProblem("https://git.example.com/a/b.git", false)).toBeNull();
  expect(repoUrlProblem("file:///srv/repo", false)).toMatch(/local repositories are disabled/);
  expect(repoUrlProblem("/srv/repo", false)).toMatch(/local repositories are disabled/);
  expect(repoUrlProblem("file:///srv/repo", true)).toBeNull();
  expect(repoUrlProblem("/srv/repo", true)).toBeNull();
});

test("option and transport injection is refused", () => {
  for (const bad of [
    "-uupload-pack=touch /tmp/x",
    "--upload-pack=touch /tmp/x",
    "ext::sh -c touch% /tmp/pwned",
    "ext::sh",
    "fd::17",
    "https://x\n",
    "https://x/\u0000",
    "http://example.com/r.git",
    "git://example.com/r.git",
    "ssh://git@example.com/r.git",
    "git@example.com:r.git",
    "https://user:pw@example.com/r.git",
    "https://-oProxyCommand=x/r",
    "file://../etc",
    "",
  ]) {
    expect({ bad, problem: repoUrlProblem(bad, true) }).toMatchObject({ bad, problem: expect.any(String) });
  }
});

test("branch names follow git's ref rules", () => {
  for (const ok of ["main", "feature/x", "release-1.2", "a_b"]) expect(isValidBranch(ok)).toBe(true);
  for (const bad of ["-x", "--upload-pack=x", "a..b", "a b", "a~1", "x.lock", "a/.b", "a//b", "a:b", "@", "a@{1}", "x/", "a\\b", ".hidden"])
    expect({ bad, ok: isValidBranch(bad) }).toEqual({ bad, ok: false });
});
test("paths with dashes inside are fine", () => { expect(repoUrlProblem("/srv/my-utils/repo", true)).toBeNull(); });
