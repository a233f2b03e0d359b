import { expect, test } from "bun:test";
import { inspect } from "node:util";
import { readdirSync, readFileSync } from "node:fs";
import { CommandError, CONTAINER_GRACE_MS, describeCommand, lastLines, redact, run, runChecked, Sensitive } from "./exec";

test("Sensitive never prints its value", () => {
  const s = new Sensitive("hunter2-secret");
  expect(String(s)).toBe("[REDACTED]");
  expect(`${s}`).toBe("[REDACTED]");
  expect(JSON.stringify({ s })).toBe('{"s":"[REDACTED]"}');
  expect(inspect(s)).toBe("[REDACTED]");
  expect(inspect({ nested: s })).not.toContain("hunter2");
  expect(s.reveal()).toBe("hunter2-secret");
});

test("redact scrubs every occurrence, but not values too short to matter", () => {
  const secrets = [new Sensitive("s3cr3t"), new Sensitive("abc")];
  expect(redact("a s3cr3t b s3cr3t abc", secrets)).toBe("a [REDACTED] b [REDACTED] abc");
  expect(describeCommand(["podman", "run", "--x", "s3cr3t", "with space"], secrets)).toBe('$ podman run --x [REDACTED] "with space"');
});

test("run returns code and output, argv is passed without a shell", async () => {
  const r = await run(["printf", "%s\\n", "a b", "$(touch /tmp/never)", ";rm -rf /"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("a b\n$(touch /tmp/never)\n;rm -rf /\n");
  expect(r.timedOut).toBe(false);
});

test("run streams lines (with partial last line) and separates stderr", async () => {
  const lines: [string, string][] = [];
  const r = await run(["sh", "-c", "printf 'one\\r\\ntwo\\n'; printf 'err\\n' >&2; printf tail"], {
    onLine: (line, stream) => lines.push([stream, line]),
  });
  expect(r.code).toBe(0);
  expect(lines.filter(([s]) => s === "stdout").map(([, l]) => l)).toEqual(["one", "two", "tail"]);
  expect(lines.filter(([s]) => s === "stderr").map(([, l]) => l)).toEqual(["err"]);
  expect(r.stderr).toBe("err\n");
});

test("run redacts secrets in lines and output; env values reach the child", async () => {
  const secret = new Sensitive("top-secret-value");
  const lines: string[] = [];
  const r = await run(["sh", "-c", 'echo "token=$TOKEN"'], {
    env: { TOKEN: secret },
    secrets: [secret],
    onLine: (l) => lines.push(l),
  });
  expect(lines).toEqual(["token=[REDACTED]"]);
  expect(r.stdout).toBe("token=[REDACTED]\n");
});

test("inheritEnv: false gives the child only the given env", async () => {
  process.env.WH_EXEC_TEST_LEAK = "leak";
  const r = await run(["/usr/bin/env"], { inheritEnv: false, env: { ONLY: "1" } });
  delete process.env.WH_EXEC_TEST_LEAK;
  expect(r.stdout).toBe("ONLY=1\n");
});

test("stdin, cwd and exit codes", async () => {
  expect((await run(["cat"], { stdin: new Sensitive("from stdin") })).stdout).toBe("from stdin");
  expect((await run(["pwd"], { cwd: "/tmp" })).stdout.trim()).toBe("/tmp");
  expect((await run(["sh", "-c", "exit 3"])).code).toBe(3);
  // stdin is closed even when not given, so this doesn't hang.
  expect((await run(["cat"])).code).toBe(0);
});

test("a missing program is code 127, not an exception", async () => {
  const r = await run(["wh-no-such-program-xyz"]);
  expect(r.code).toBe(127);
  expect(r.stderr).toContain("wh-no-such-program-xyz");
});

test("timeout and abort kill the process", async () => {
  const t0 = Date.now();
  const r = await run(["sleep", "10"], { timeoutMs: 100 });
  expect(r.timedOut).toBe(true);
  expect(r.code).toBe(143);
  expect(Date.now() - t0).toBeLessThan(3000);

  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const a = await run(["sleep", "10"], { signal: ac.signal });
  expect(a.aborted).toBe(true);
  expect((await run(["true"], { signal: ac.signal })).aborted).toBe(true);
});

test("output kept is bounded (tail), lines are cut", async () => {
  const lines: string[] = [];
  const r = await run(["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo; echo end"], {
    maxOutputBytes: 10,
    onLine: (l) => lines.push(l),
  });
  expect(r.stdout).toBe("xxxxx\nend\n");
  expect(lines.at(-1)).toBe("end");
  expect(lines.every((l) => l.length <= 16 * 1024 + 1)).toBe(true);
});

test("runChecked throws a one-line CommandError with the end of stderr", async () => {
  const err = await runChecked(["sh", "-c", "echo one >&2; echo two >&2; exit 2"]).catch((e) => e);
  expect(err).toBeInstanceOf(CommandError);
  expect(err.message).toBe("sh -c exited with code 2: one | two");
  expect(lastLines("a\n\n b \nc\n", 2)).toBe("b | c");
});

const canUnshare = Bun.spawnSync(["unshare", "--pid", "--fork", "true"]).exitCode === 0;

test.skipIf(!canUnshare)("killContainers: a timeout first kills descendants in another PID namespace (a build's RUN step)", async () => {
  const marker = `61.${Math.floor(Math.random() * 1e6)}`;
  const running = () =>
    readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .some((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").trim() === `sleep ${marker}`;
        } catch {
          return false;
        }
      });
  const started = Date.now();
  // Like podman build → runc → the RUN step: the shell waits for a process in its own PID namespace.
  const r = await run(["sh", "-c", `unshare --pid --fork sleep ${marker} & wait`], { timeoutMs: 500, killContainers: true });
  expect(r.timedOut).toBe(true);
  expect(running()).toBe(false);
  // The shell exited by itself once its container was gone, before the grace ran out.
  expect(Date.now() - started).toBeLessThan(500 + CONTAINER_GRACE_MS);
});
