/** Real git repositories for tests: a Containerfile serving a page, committed. */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASE_IMAGE } from "./podman";

function git(dir: string, args: string[]) {
  const p = Bun.spawnSync(["git", "-C", dir, ...args], {
    env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" },
  });
  if (p.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
}

/** A repo on branch main whose image serves `page` at / on port 8080. Returns its path and commit helper. */
export function makeAppRepo(page: string, opts: { containerfile?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "wh-repo-"));
  git(dir, ["init", "-q", "-b", "main"]);
  writeFileSync(join(dir, opts.containerfile ?? "Containerfile"), `FROM ${BASE_IMAGE}\nCOPY index.html /www/index.html\n`);
  writeFileSync(join(dir, "index.html"), page);
  git(dir, ["add", "-A"]);
  git(dir, ["commit", "-q", "-m", "first"]);
  return {
    dir,
    head: () => git(dir, ["rev-parse", "HEAD"]),
    /** Commits a page on `branch` (made from the current commit, then left again) and returns that commit's sha. */
    commitOnBranch(branch: string, page: string) {
      const back = git(dir, ["rev-parse", "--abbrev-ref", "HEAD"]);
      git(dir, ["checkout", "-q", "-B", branch]);
      writeFileSync(join(dir, "index.html"), page);
      git(dir, ["commit", "-q", "-am", `change on ${branch}`]);
      const sha = git(dir, ["rev-parse", "HEAD"]);
      git(dir, ["checkout", "-q", back]);
      return sha;
    },
    /** Commits a new page and returns the new commit sha. */
    commitPage(next: string) {
      writeFileSync(join(dir, "index.html"), next);
      git(dir, ["commit", "-q", "-am", "change"]);
      return git(dir, ["rev-parse", "HEAD"]);
    },
  };
}

/** A repo whose app answers /cgi-bin/id with its container's host name, so responses name the copy that served them. */
export function makeIdentRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), "wh-ident-repo-"));
  mkdirSync(join(dir, "cgi-bin"));
  writeFileSync(join(dir, "Containerfile"), `FROM ${BASE_IMAGE}\nCOPY cgi-bin/id /www/cgi-bin/id\n`);
  writeFileSync(join(dir, "cgi-bin/id"), '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\ncat /etc/hostname\n');
  chmodSync(join(dir, "cgi-bin/id"), 0o755);
  git(dir, ["init", "-q", "-b", "main"]);
  git(dir, ["add", "-A"]);
  git(dir, ["commit", "-q", "-m", "ident"]);
  return dir;
}
