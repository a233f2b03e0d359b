import { afterAll, expect, test } from "bun:test";
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseContainerfile } from "../tasks/deploy";
import { ALWAYS_IGNORED, DEFAULT_BUILD_IMAGES, GENERATED_CONTAINERFILE, generateBuild, hasContainerfileEntry, ignoreRules, readRepoFacts } from "./index";
import { NOTHING_FOUND } from "./detect";

const root = await mkdtemp(join(tmpdir(), "wh-builders-"));
afterAll(() => rm(root, { recursive: true, force: true }));

let n = 0;
/** A directory with these files ("dir/" makes a directory). */
async function repo(files: Record<string, string>): Promise<string> {
  const dir = join(root, `r${++n}`);
  await mkdir(dir);
  for (const [path, text] of Object.entries(files)) {
    if (path.endsWith("/")) await mkdir(join(dir, path), { recursive: true });
    else {
      await mkdir(join(dir, path, ".."), { recursive: true });
      await writeFile(join(dir, path), text);
    }
  }
  return dir;
}

test("readRepoFacts: root entries, index.html of the output dirs, cmd/ dirs, package.json and Procfile text; no symlinks", async () => {
  const dir = await repo({
    "package.json": '{"scripts":{"start":"x"}}',
    Procfile: "web: x\n",
    "dist/index.html": "d",
    "build/other.html": "b",
    "public/": "",
    "cmd/api/main.go": "package main",
    "cmd/README": "",
    "src/index.html": "not looked at",
  });
  await symlink("/etc/passwd", join(dir, "index.html"));
  await symlink("/etc", join(dir, "linked"));
  await symlink("/etc/hostname", join(dir, "public", "index.html"));
  const facts = await readRepoFacts(dir);
  expect([...facts.entries].sort()).toEqual(["Procfile", "build/", "cmd/", "cmd/api/", "dist/", "dist/index.html", "package.json", "public/", "src/"]);
  expect(facts.packageJson).toBe('{"scripts":{"start":"x"}}');
  expect(facts.procfile).toBe("web: x\n");
});

test("readRepoFacts: a symlinked package.json is not read; a huge one is refused", async () => {
  const linked = await repo({});
  await symlink("/etc/passwd", join(linked, "package.json"));
  expect(await readRepoFacts(linked)).toEqual({ entries: [] });
  const huge = await repo({ "package.json": " ".repeat(1024 * 1024 + 1) });
  expect(readRepoFacts(huge)).rejects.toThrow(/package.json is larger than 1024 KiB/);
});

test("generateBuild: writes the file into the clone, an ignore file with .git, and prints the file line by line", async () => {
  const dir = await repo({ "index.html": "<h1>hi</h1>", ".git/config": "secret" });
  const lines: string[] = [];
  const g = await generateBuild(dir, { ...DEFAULT_BUILD_IMAGES, static: "localhost/www:1" }, (l) => lines.push(l));
  expect(g.builder).toBe("static");
  expect(g.containerfile).toBe(join(dir, GENERATED_CONTAINERFILE));
  expect(await readFile(g.containerfile, "utf8")).toBe(g.text);
  expect(g.text).toContain("FROM localhost/www:1\nCOPY . /srv/www/\n");
  expect(await readFile(join(dir, ".containerignore"), "utf8")).toBe(`# added by WiseHosting\n${ALWAYS_IGNORED.join("\n")}\n`);
  expect(ALWAYS_IGNORED).toContain(".git");
  expect(lines[0]).toBe("==> No Containerfile or Dockerfile: detected a static site: index.html at the root");
  expect(lines[1]).toContain("serves /srv/www on $PORT (WH_BUILD_IMAGE_STATIC=localhost/www:1)");
  expect(lines[2]).toBe(`==> Generated ${GENERATED_CONTAINERFILE} (builder static):`);
  expect(lines.slice(3)).toEqual(g.text.trimEnd().split("\n").map((l) => `    ${l}`));
});

test("generateBuild: nothing recognised logs and throws what was looked for, and writes nothing", async () => {
  const dir = await repo({ "README.md": "# hi" });
  const lines: string[] = [];
  expect(generateBuild(dir, DEFAULT_BUILD_IMAGES, (l) => lines.push(l))).rejects.toThrow(NOTHING_FOUND);
  await Bun.sleep(10);
  expect(lines).toEqual([`==> ${NOTHING_FOUND}`]);
  expect(await lstat(join(dir, GENERATED_CONTAINERFILE)).catch(() => null)).toBeNull();
});

test("generateBuild: an existing entry with our file's name is replaced, never written through", async () => {
  const dir = await repo({ "index.html": "x" });
  const outside = join(root, "outside-target");
  await writeFile(outside, "untouched");
  await symlink(outside, join(dir, GENERATED_CONTAINERFILE));
  const g = await generateBuild(dir, DEFAULT_BUILD_IMAGES, () => {});
  expect(await readFile(outside, "utf8")).toBe("untouched");
  expect((await lstat(g.containerfile)).isFile()).toBe(true);
});

test("ignore rules: the repository's own come first (.containerignore, else .dockerignore), ours last so they win", async () => {
  const ours = `# added by WiseHosting\n${ALWAYS_IGNORED.join("\n")}\n`;
  expect(await ignoreRules(await repo({ ".dockerignore": "node_modules\n!.git" }))).toBe(`node_modules\n!.git\n${ours}`);
  expect(await ignoreRules(await repo({ ".containerignore": "a\n", ".dockerignore": "b\n" }))).toBe(`a\n${ours}`);
  const linkedOut = await repo({});
  await symlink("/etc/passwd", join(linkedOut, ".dockerignore"));
  expect(await ignoreRules(linkedOut)).toBe(ours);
  // A generated build replaces a symlinked .containerignore with a file of its own.
  const dir = await repo({ "index.html": "x", ".dockerignore": "*.md\n" });
  const outside = join(root, "outside-ignore");
  await writeFile(outside, "keep");
  await symlink(outside, join(dir, ".containerignore"));
  await generateBuild(dir, DEFAULT_BUILD_IMAGES, () => {});
  expect(await readFile(outside, "utf8")).toBe("keep");
  // The link pointed outside, so it didn't count: .dockerignore's rules were taken.
  expect(await readFile(join(dir, ".containerignore"), "utf8")).toBe(`*.md\n${ours}`);
  expect((await lstat(join(dir, ".containerignore"))).isFile()).toBe(true);
});

test("hasContainerfileEntry: any entry named Containerfile or Dockerfile, even a dangling link", async () => {
  expect(await hasContainerfileEntry(await repo({ "index.html": "x" }))).toBe(false);
  expect(await hasContainerfileEntry(await repo({ Dockerfile: "FROM x" }))).toBe(true);
  const dangling = await repo({});
  await symlink("/nonexistent", join(dangling, "Containerfile"));
  expect(await hasContainerfileEntry(dangling)).toBe(true);
});

test("chooseContainerfile: the repository's own first, with findContainerfile's checks; else generated", async () => {
  const own = await repo({ Containerfile: "FROM x", "package.json": '{"scripts":{"start":"x"}}' });
  expect(await chooseContainerfile(own, null, DEFAULT_BUILD_IMAGES, () => {})).toEqual({ builder: "containerfile", containerfile: join(own, "Containerfile") });

  const named = await repo({ "package.json": '{"scripts":{"start":"x"}}' });
  expect(chooseContainerfile(named, "deploy/Containerfile", DEFAULT_BUILD_IMAGES, () => {})).rejects.toThrow(/deploy\/Containerfile not found/);

  const escaping = await repo({ "index.html": "x" });
  await symlink("/etc/passwd", join(escaping, "Dockerfile"));
  expect(chooseContainerfile(escaping, null, DEFAULT_BUILD_IMAGES, () => {})).rejects.toThrow(/outside the repository/);

  const dangling = await repo({ "index.html": "x" });
  await symlink("/nonexistent", join(dangling, "Containerfile"));
  expect(chooseContainerfile(dangling, null, DEFAULT_BUILD_IMAGES, () => {})).rejects.toThrow(/no Containerfile or Dockerfile/);

  const bun = await repo({ "package.json": '{"scripts":{"start":"bun server.ts"}}', "server.ts": "" });
  const chosen = await chooseContainerfile(bun, null, { ...DEFAULT_BUILD_IMAGES, bun: "localhost/wh-test-bun:latest" }, () => {});
  expect(chosen.builder).toBe("bun");
  expect(chosen.containerfile).toBe(join(bun, GENERATED_CONTAINERFILE));
  expect(await readFile(chosen.containerfile, "utf8")).toContain('FROM localhost/wh-test-bun:latest\nWORKDIR /app\nCOPY . .\nRUN ["bun", "install"]\n');
});

test("job.status carries the builder optionally: older agents' reports still validate, a malformed one doesn't", async () => {
  const { jobStatusMsg } = await import("../../src/protocol/hub");
  const base = { deployment_id: "d1", status: "building", commit_sha: "a".repeat(40) };
  expect(jobStatusMsg.parse({ ...base, builder: "bun" })).toEqual({ ...base, builder: "bun" } as never);
  expect(jobStatusMsg.parse(base)).toEqual(base as never);
  for (const bad of ["", "Bun", "bun run", "x".repeat(40), 1]) expect(jobStatusMsg.safeParse({ ...base, builder: bad }).success).toBe(false);
});
