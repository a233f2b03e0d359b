/**
 * A private repository's clone credential: given to git only through its
 * environment (GIT_CONFIG_* → http.<origin>/.extraHeader), never in argv,
 * the URL, a file or an output line. Checked against a real smart-HTTP server
 * that demands the token, reading every process's /proc/<pid>/cmdline while
 * the clone runs.
 */
import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Sensitive, run } from "./exec";
import { credentialConfig, gitEnv } from "./git";
import { makeAppRepo } from "../test/helpers/gitrepo";
import { bareCopy, gitHttpAvailable, startGitHttp } from "../test/helpers/git-http";
import { missingPart } from "../test/helpers/require";

const skip = missingPart("git http-backend", gitHttpAvailable());
const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

test("credentialConfig: an extraHeader limited to the repository's origin, the value Sensitive", () => {
  const c = credentialConfig({ url: "https://github.com/acme/shop.git", username: "x-access-token", token: new Sensitive("tok_123") });
  expect(c.key).toBe("http.https://github.com/.extraHeader");
  expect(String(c.value)).toBe("[REDACTED]");
  expect(c.value.reveal()).toBe("Authorization: Basic " + Buffer.from("x-access-token:tok_123").toString("base64"));
  expect(credentialConfig({ url: "https://git.example.com:8443/a/b", username: "oauth2", token: new Sensitive("t") }).key).toBe("http.https://git.example.com:8443/.extraHeader");
  expect(() => credentialConfig({ url: "file:///srv/repo", username: "u", token: new Sensitive("t") })).toThrow();
  expect(() => credentialConfig({ url: "https://h/r", username: "u", token: new Sensitive("a\nb") })).toThrow();
  expect(() => credentialConfig({ url: "https://h/r", username: "u:x", token: new Sensitive("t") })).toThrow();
  const env = gitEnv("/h", {}, { url: "https://github.com/a/b", username: "x-access-token", token: new Sensitive("tok") });
  expect(env.GIT_CONFIG_COUNT).toBe("1");
  expect(env.GIT_CONFIG_KEY_0).toBe("http.https://github.com/.extraHeader");
  expect(env.GIT_CONFIG_VALUE_0).toBeInstanceOf(Sensitive);
  expect(JSON.stringify(env)).not.toContain(Buffer.from("x-access-token:tok").toString("base64"));
  expect(gitEnv("/h", {}).GIT_CONFIG_COUNT).toBeUndefined();
});

test.skipIf(skip)("a private repository clones with the token in git's environment only", async () => {
  const repo = makeAppRepo("private page\n");
  const root = bareCopy(repo.dir, "private");
  const work = mkdtempSync(join(tmpdir(), "wh-cred-"));
  cleanup.push(repo.dir, root, work);
  const token = "ghs_" + randomBytes(20).toString("hex");
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  // Each request is held a little so the clone runs long enough to be watched.
  const server = startGitHttp(root, { user: "x-access-token", token }, { delayMs: 200 });
  const url = `${server.base}/private.git`;
  const argv = (dir: string) => ["git", "-c", "protocol.allow=never", "-c", "protocol.http.allow=always", "clone", "--depth", "1", "--branch", "main", "--single-branch", "--no-tags", "--", url, dir];
  try {
    // Without the credential: refused (and no prompt).
    const home0 = join(work, "home0");
    mkdirSync(home0);
    const denied = await run(argv(join(work, "denied")), { env: gitEnv(home0), inheritEnv: false, timeoutMs: 30_000 });
    expect(denied.code).not.toBe(0);

    const home = join(work, "home");
    mkdirSync(home);
    const credential = { url, username: "x-access-token", token: new Sensitive(token) };
    let watching = true;
    const leaks: string[] = [];
    let sawClone = false;
    const watcher = (async () => {
      while (watching) {
        for (const pid of readdirSync("/proc")) {
          if (!/^\d+$/.test(pid)) continue;
          let cmd = "";
          try {
            cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1");
          } catch {
            continue;
          }
          if (cmd.includes(url)) sawClone = true;
          if (cmd.includes(token) || cmd.includes(basic)) leaks.push(cmd.replace(/\0/g, " "));
        }
        await Bun.sleep(5);
      }
    })();
    const lines: string[] = [];
    const r = await run(argv(join(work, "src")), {
      env: gitEnv(home, process.env, credential),
      inheritEnv: false,
      timeoutMs: 60_000,
      onLine: (l) => lines.push(l),
      secrets: [credential.token],
    });
    watching = false;
    await watcher;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(sawClone).toBe(true);
    expect(leaks).toEqual([]);
    expect(readFileSync(join(work, "src/index.html"), "utf8")).toBe("private page\n");
    expect(server.seen.some((s) => s.authorized)).toBe(true);
    // Not in any output line, nor in any file the clone left behind (.git/config holds the plain URL).
    expect(lines.join("\n") + r.stdout + r.stderr).not.toContain(token);
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(work);
    for (const f of files) {
      const text = readFileSync(f, "latin1");
      expect({ f, leak: text.includes(token) || text.includes(basic) }).toEqual({ f, leak: false });
    }
  } finally {
    server.stop();
  }
});
