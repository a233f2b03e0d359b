/**
 * The two executables as an operator gets them: each copied alone into an
 * empty directory runs; the agent carries no Elysia, postgres.js or PGlite;
 * the control plane runs on its embedded PostgreSQL with nothing else, and its
 * CLI works against that database while the server runs.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AGENT, binariesBuilt, CONTROL_PLANE, freePort, launch, until, type Proc } from "./helpers/processes";
import { missingPart } from "./helpers/require";

const skip = missingPart("the compiled binaries in dist/ (bun run build)", binariesBuilt());

test("the agent's bundle holds no Elysia, postgres.js or PGlite", async () => {
  const r = await Bun.build({ entrypoints: [join(import.meta.dir, "../agent/main.ts")], target: "bun", metafile: true } as Parameters<typeof Bun.build>[0]);
  expect(r.success).toBe(true);
  const inputs = Object.keys((r as unknown as { metafile: { inputs: Record<string, unknown> } }).metafile.inputs);
  expect(inputs.length).toBeGreaterThan(10);
  expect(inputs.some((i) => i.includes("node_modules/zod"))).toBe(true);
  for (const banned of ["node_modules/elysia", "node_modules/postgres/", "node_modules/@electric-sql"])
    expect({ banned, found: inputs.filter((i) => i.includes(banned)) }).toEqual({ banned, found: [] });
});

describe.skipIf(skip)("compiled binaries, alone in an empty directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "wh-alone-"));
  const procs: Proc[] = [];
  afterAll(async () => {
    for (const p of procs) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("--help of both lists commands and variables", () => {
    copyFileSync(CONTROL_PLANE, join(dir, "wisehosting"));
    copyFileSync(AGENT, join(dir, "wisehosting-agent"));
    const cp = Bun.spawnSync([join(dir, "wisehosting"), "--help"], { cwd: dir });
    expect(cp.exitCode).toBe(0);
    for (const s of ["serve", "migrate", "admin create", "token create", "WH_LISTEN", "WH_DATABASE_URL", "WH_MASTER_KEY", "WH_ALLOW_LOCAL_REPOS"])
      expect(cp.stdout.toString()).toContain(s);
    const ag = Bun.spawnSync([join(dir, "wisehosting-agent"), "--help"], { cwd: dir });
    expect(ag.exitCode).toBe(0);
    for (const s of ["WH_HUB_URL", "WH_WORKER_SECRET", "WH_WORKER_STATE_DIR", "WH_WORKER_ADVERTISE_ADDR", "WH_WORKER_MEMORY_MB"])
      expect(ag.stdout.toString()).toContain(s);
  });

  test("a bad setting stops start-up with one line naming it", () => {
    const r = Bun.spawnSync([join(dir, "wisehosting"), "serve"], { cwd: dir, env: { PATH: "/usr/bin:/bin", WH_MASTER_KEY: "short" } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString().trim()).toBe("wisehosting: WH_MASTER_KEY: must be 64 hex characters (32 bytes)");
    const a = Bun.spawnSync([join(dir, "wisehosting-agent")], { cwd: dir, env: { PATH: "/usr/bin:/bin" } });
    expect(a.exitCode).not.toBe(0);
    expect(a.stderr.toString()).toContain("WH_HUB_URL");
  });

  test("serve on the embedded database; secrets generated 0600; CLI works while it runs; restart keeps data", async () => {
    const port = freePort();
    const env = { PATH: "/usr/bin:/bin", WH_LISTEN: `127.0.0.1:${port}`, WH_INGRESS_LISTEN: `127.0.0.1:${freePort()}` };
    const first = launch([join(dir, "wisehosting"), "serve"], env, dir);
    procs.push(first);
    await first.waitFor(/ready in \d+ ms.*database embedded/, 60_000);
    expect(first.output()).toMatch(/WH_WORKER_SECRET=\S+ \.\/wisehosting-agent/);
    for (const f of ["master.key", "worker.secret"]) expect(statSync(join(dir, "wisehosting-data", f)).mode & 0o777).toBe(0o600);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    const admin = Bun.spawnSync([join(dir, "wisehosting"), "admin", "create", "--email", "Op@Example.com"], { cwd: dir, env });
    expect(admin.stderr.toString()).toBe("");
    expect(admin.stdout.toString()).toMatch(/^admin op@example.com created .*\npassword: \S{12,}\n$/);
    const dup = Bun.spawnSync([join(dir, "wisehosting"), "admin", "create", "--email", "op@example.com"], { cwd: dir, env });
    expect(dup.exitCode).toBe(1);
    expect(dup.stderr.toString()).toContain("already exists");
    const token = Bun.spawnSync([join(dir, "wisehosting"), "token", "create", "--email", "op@example.com", "--name", "t"], { cwd: dir, env }).stdout.toString().trim();
    expect(token).toMatch(/^wh_pat_[A-Za-z0-9_-]{40,}$/);
    const created = await fetch(`http://127.0.0.1:${port}/v1/projects`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "kept", repo_url: "https://git.example.com/kept.git" }),
    });
    expect(created.status).toBe(201);
    await first.stop();

    const again = launch([join(dir, "wisehosting"), "serve"], env, dir);
    procs.push(again);
    await again.waitFor(/ready in \d+ ms/, 60_000);
    expect(again.output()).not.toContain("Generated a worker secret");
    const list = await until("the API", async () => {
      const r = await fetch(`http://127.0.0.1:${port}/v1/projects`, { headers: { authorization: `Bearer ${token}` } });
      return r.status === 200 ? ((await r.json()) as { projects: { name: string }[] }) : null;
    }, 10_000);
    expect(list.projects.map((p) => p.name)).toEqual(["kept"]);
    await again.stop();
    const migrate = Bun.spawnSync([join(dir, "wisehosting"), "migrate"], { cwd: dir, env });
    expect(migrate.stdout.toString()).toContain("migrations applied");
  });
});
