/**
 * Builds without a Dockerfile, end to end with the compiled binaries, real
 * PostgreSQL, podman and git: a static site and a Bun app with no
 * Containerfile deploy and answer through the ingress; a repository with
 * nothing to build fails with a build log line naming what was looked for;
 * GET /v1/deployments/:id says which builder made the Containerfile.
 *
 * No registry is reachable, so the base images are made here: the static one
 * from the busybox test image (its command serves /srv/www on $PORT: the
 * contract of WH_BUILD_IMAGE_STATIC), the Bun one from this machine's bun
 * binary, the C libraries it links against and busybox.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { freshDatabase, postgresAvailable } from "./helpers/db";
import { missingPart } from "./helpers/require";
import { BASE_IMAGE, ensureBaseImage, podman, podmanAvailable, podmanEnv, removeWorkerContainers } from "./helpers/podman";
import { makeAppRepo } from "./helpers/gitrepo";
import { AGENT, binariesBuilt, CONTROL_PLANE, freePort, launch, until, type Proc } from "./helpers/processes";

const STATIC_IMAGE = "localhost/wh-test-static:latest";
const BUN_IMAGE = "localhost/wh-test-bun:latest";
const bunBinary = (() => {
  try {
    return realpathSync(Bun.which("bun") ?? "/usr/bin/bun");
  } catch {
    return "";
  }
})();

const skip =
  missingPart("PostgreSQL on 127.0.0.1:5432", await postgresAvailable()) ||
  missingPart("podman with /bin/busybox", podmanAvailable()) ||
  missingPart("the compiled binaries in dist/ (bun run build)", binariesBuilt()) ||
  missingPart("a bun binary and ldd to make the Bun base image", bunBinary !== "" && Bun.which("ldd") !== null);

/** The static base image: busybox httpd serving /srv/www on $PORT, as its own command. */
function ensureStaticImage(): void {
  if (podman(["image", "exists", STATIC_IMAGE]).code === 0) return;
  const dir = mkdtempSync(join(tmpdir(), "wh-static-image-"));
  writeFileSync(
    join(dir, "Containerfile"),
    [
      `FROM ${BASE_IMAGE}`,
      'RUN ["/bin/busybox", "mkdir", "-p", "/srv/www"]',
      'CMD ["/bin/busybox", "sh", "-c", "exec /bin/busybox httpd -f -p \\"${PORT:-8080}\\" -h /srv/www"]',
      "",
    ].join("\n"),
  );
  const r = podman(["build", "-t", STATIC_IMAGE, dir]);
  rmSync(dir, { recursive: true, force: true });
  if (r.code !== 0) throw new Error(`building ${STATIC_IMAGE} failed: ${r.err}`);
}

/** The Bun base image: this machine's bun with the libraries ldd lists, and busybox for sh. */
function ensureBunImage(): void {
  if (podman(["image", "exists", BUN_IMAGE]).code === 0) return;
  const root = mkdtempSync(join(tmpdir(), "wh-bun-rootfs-"));
  const put = (from: string, to: string, mode = 0o755) => {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(realpathSync(from), join(root, to));
    chmodSync(join(root, to), mode);
  };
  put(bunBinary, "usr/local/bin/bun");
  const ldd = Bun.spawnSync(["ldd", bunBinary]).stdout.toString();
  // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" and "/lib64/ld-linux-x86-64.so.2 (0x…)"
  for (const m of ldd.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) put(m[1]!, m[1]!.slice(1));
  put("/bin/busybox", "bin/busybox");
  for (const tool of ["sh", "env", "cat", "ls", "mkdir", "rm", "cp"]) symlinkSync("busybox", join(root, "bin", tool));
  for (const d of ["tmp", "root", "app"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  const tar = `${root}.tar`;
  try {
    if (Bun.spawnSync(["tar", "-C", root, "-cf", tar, "."]).exitCode !== 0) throw new Error("tar of the bun rootfs failed");
    const r = podman(["import", "--change", "ENV PATH=/usr/local/bin:/bin", "--change", "ENV HOME=/root", "--change", 'CMD ["/usr/local/bin/bun"]', tar, BUN_IMAGE]);
    if (r.code !== 0) throw new Error(`podman import of ${BUN_IMAGE} failed: ${r.err}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(tar, { force: true });
  }
}

/** A git repository on branch main with exactly these files, committed. */
function gitRepo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "wh-builders-repo-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" };
  for (const args of [["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "first"]]) {
    const p = Bun.spawnSync(["git", "-C", dir, ...args], { env });
    if (p.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${p.stderr.toString()}`);
  }
  return dir;
}

describe.skipIf(skip)("builds without a Dockerfile", () => {
  const apiPort = freePort();
  const ingressPort = freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const suffix = randomBytes(3).toString("hex");
  const workerName = `builders-${suffix}`;
  const dataDir = mkdtempSync(join(tmpdir(), "wh-builders-cp-"));
  const agentDir = mkdtempSync(join(tmpdir(), "wh-builders-agent-"));
  const repos = {
    static: gitRepo({ "index.html": "<h1>static without a Dockerfile</h1>\n" }),
    bun: gitRepo({
      "package.json": JSON.stringify({ name: "bun-app", private: true, scripts: { start: "bun server.ts" } }, null, 2),
      "server.ts": [
        "const server = Bun.serve({",
        "  port: Number(process.env.PORT ?? 8080),",
        '  fetch: () => new Response(`bun ${Bun.version} without a Dockerfile, NODE_ENV=${process.env.NODE_ENV}\\n`),',
        "});",
        "console.log(`listening on ${server.port}`);",
        "",
      ].join("\n"),
    }),
    nothing: gitRepo({ "README.md": "# nothing to build here\n" }),
  };
  const own = makeAppRepo("own Containerfile\n");
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let server: Proc;
  let agent: Proc;
  let token = "";

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: text.startsWith("{") ? JSON.parse(text) : undefined, text };
  };
  const app = (project: string, path = "/") => fetch(`http://127.0.0.1:${ingressPort}${path}`, { headers: { host: `${project}.localhost:${ingressPort}` } });
  /** Creates a project on the repo, deploys it and waits until it settles; returns the deployment and its log. */
  const deploy = async (name: string, repoDir: string, memory_mb: number) => {
    const created = await call("POST", "/v1/projects", { name, repo_url: `file://${repoDir}`, memory_mb, cpus: 0.5 });
    expect(created.status).toBe(201);
    const dep = await call("POST", `/v1/projects/${created.json.id}/deployments`);
    expect(dep.status).toBe(202);
    const d = await until(`deployment of ${name} to settle`, async () => {
      const x = (await call("GET", `/v1/deployments/${dep.json.id}`)).json;
      return ["running", "failed"].includes(x?.status) ? x : null;
    }, 90_000).catch((e) => {
      throw new Error(`${e.message}\n--- agent:\n${agent.output()}`);
    });
    const log = (await call("GET", `/v1/deployments/${dep.json.id}/logs`)).text;
    return { d, log };
  };

  // The four deployments run at once; each test checks one.
  let deployed: Record<"static" | "bun" | "nothing" | "own", Promise<{ d: Record<string, unknown>; log: string }>>;

  beforeAll(async () => {
    ensureBaseImage();
    ensureStaticImage();
    ensureBunImage();
    db = await freshDatabase();
    const env = {
      WH_DATABASE_URL: db.url,
      WH_DATA_DIR: dataDir,
      WH_LISTEN: `127.0.0.1:${apiPort}`,
      WH_INGRESS_LISTEN: `127.0.0.1:${ingressPort}`,
      WH_ALLOW_LOCAL_REPOS: "true",
    };
    server = launch([CONTROL_PLANE, "serve"], env);
    await server.waitFor(/ready in \d+ ms/);
    const secret = /WH_WORKER_SECRET=(\S+)/.exec(await server.waitFor(/WH_WORKER_SECRET=\S+/))![1]!;
    Bun.spawnSync([CONTROL_PLANE, "admin", "create", "--email", "ops@example.com"], { env: { ...process.env, ...env } });
    token = Bun.spawnSync([CONTROL_PLANE, "token", "create", "--email", "ops@example.com", "--name", "builders"], { env: { ...process.env, ...env } }).stdout.toString().trim();
    expect(token).toMatch(/^wh_pat_/);
    agent = launch([AGENT], {
      ...podmanEnv,
      WH_HUB_URL: api,
      WH_WORKER_SECRET: secret,
      WH_WORKER_NAME: workerName,
      WH_WORKER_STATE_DIR: agentDir,
      WH_WORKER_MEMORY_MB: "2048",
      WH_BUILD_IMAGE_STATIC: STATIC_IMAGE,
      WH_BUILD_IMAGE_BUN: BUN_IMAGE,
      // Never pulled here: a test that reached for them would fail rather than hang on a registry.
      WH_BUILD_IMAGE_NODE: "localhost/wh-test-absent-node:none",
    });
    await until("the worker to come online", async () => (await call("GET", "/v1/workers")).json?.workers?.find((w: { status: string }) => w.status === "online"), 30_000).catch((e) => {
      throw new Error(`${e.message}\n--- control plane:\n${server.output()}\n--- agent:\n${agent.output()}`);
    });
    deployed = {
      static: deploy(`static-${suffix}`, repos.static, 64),
      bun: deploy(`bun-${suffix}`, repos.bun, 256),
      nothing: deploy(`nothing-${suffix}`, repos.nothing, 64),
      own: deploy(`own-${suffix}`, own.dir, 64),
    };
    for (const p of Object.values(deployed)) p.catch(() => {}); // each test awaits its own
  });

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    removeWorkerContainers(workerName);
    for (const project of ["static", "bun", "nothing", "own"]) {
      const images = podman(["images", "--quiet", "--filter", `reference=localhost/wh/${project}-${suffix}`]).out.split("\n").filter(Boolean);
      if (images.length) podman(["rmi", "-f", ...images]);
    }
    await db?.drop();
    for (const dir of [dataDir, agentDir, own.dir, ...Object.values(repos)]) rmSync(dir, { recursive: true, force: true });
  });

  test("a static site (index.html only) deploys with a generated Containerfile and answers with its page", async () => {
    const { d, log } = await deployed.static;
    expect({ status: d.status, error: d.error, builder: d.builder }).toEqual({ status: "running", error: null, builder: "static" });
    expect(log).toContain("==> No Containerfile or Dockerfile: detected a static site: index.html at the root");
    expect(log).toContain("==> Generated .wisehosting.Containerfile (builder static):");
    // The generated file, line by line, in the build log.
    expect(log).toContain(`    FROM ${STATIC_IMAGE}\n    COPY . /srv/www/\n`);
    const res = await app(`static-${suffix}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("<h1>static without a Dockerfile</h1>\n");
    // The clone's git history and our own files stay out of the image.
    expect((await app(`static-${suffix}`, "/.git/HEAD")).status).toBe(404);
    expect((await app(`static-${suffix}`, "/.wisehosting.Containerfile")).status).toBe(404);
  });

  test("a Bun app (package.json with a start script, no lockfile) deploys and answers", async () => {
    const { d, log } = await deployed.bun;
    expect({ status: d.status, error: d.error, builder: d.builder }).toEqual({ status: "running", error: null, builder: "bun" });
    expect(log).toContain('==> No Containerfile or Dockerfile: detected a Bun app: package.json with a "start" script; package manager bun (no lockfile)');
    expect(log).toContain(`    FROM ${BUN_IMAGE}\n    WORKDIR /app\n    COPY . .\n    RUN ["bun", "install"]\n    ENV NODE_ENV=production\n    CMD ["bun", "run", "start"]\n`);
    const res = await app(`bun-${suffix}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`bun ${Bun.version} without a Dockerfile, NODE_ENV=production\n`);
  });

  test("a repository with nothing to build fails with a build log line saying what was looked for", async () => {
    const { d, log } = await deployed.nothing;
    expect(d.status).toBe("failed");
    expect(d.builder).toBeNull();
    const looked =
      "no Containerfile or Dockerfile, and no stack recognised: looked for Containerfile, Dockerfile, package.json, go.mod, requirements.txt, pyproject.toml, and index.html in ., dist/, build/, public/";
    expect(d.error).toBe(looked);
    expect(log.split("\n")).toContain(`==> ${looked}`);
    expect(d.building_at).toBeString(); // it went through building, as a missing Containerfile always did
  });

  test("a repository with its own Containerfile reports the builder 'containerfile'", async () => {
    const { d, log } = await deployed.own;
    expect({ status: d.status, builder: d.builder }).toEqual({ status: "running", builder: "containerfile" });
    expect(log).not.toContain("No Containerfile or Dockerfile");
    expect(await (await app(`own-${suffix}`)).text()).toBe("own Containerfile\n");
  });
});
