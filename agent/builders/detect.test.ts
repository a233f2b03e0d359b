import { describe, expect, test } from "bun:test";
import { detect, LOOKED_FOR, NOTHING_FOUND, packageManager, procfileWeb, type BuildPlan, type Detection, type RepoFacts } from "./detect";

const pkg = (o: Record<string, unknown>) => JSON.stringify(o);
const app = (scripts: Record<string, string>, extra: Record<string, unknown> = {}) => pkg({ name: "x", scripts, ...extra });
const plan = (d: Detection): BuildPlan => {
  if (!d.ok) throw new Error(`expected a plan, got: ${d.reason}`);
  return d.plan;
};
const reason = (d: Detection): string => {
  if (d.ok) throw new Error(`expected a failure, got ${JSON.stringify(d.plan)}`);
  return d.reason;
};
const js = (entries: string[], packageJson: string, more: Partial<RepoFacts> = {}) => detect({ entries: ["package.json", ...entries], packageJson, ...more });

describe("JavaScript: the lockfile decides the package manager", () => {
  const start = app({ start: "node server.js" });
  test.each([
    ["bun.lock", "bun", "bun"],
    ["bun.lockb", "bun", "bun"],
    ["package-lock.json", "npm", "node"],
    ["npm-shrinkwrap.json", "npm", "node"],
    ["yarn.lock", "yarn", "node"],
    ["pnpm-lock.yaml", "pnpm", "node"],
  ])("%s → %s", (lockfile, pm, builder) => {
    expect(plan(js([lockfile], start))).toEqual({ builder: builder as "bun" | "node", js: { pm: pm as "bun", lockfile }, build: false });
  });

  test("several lockfiles: bun, then npm, then yarn, then pnpm", () => {
    expect(plan(js(["pnpm-lock.yaml", "yarn.lock", "package-lock.json", "bun.lock"], start))).toMatchObject({ js: { pm: "bun", lockfile: "bun.lock" } });
    expect(plan(js(["pnpm-lock.yaml", "yarn.lock", "package-lock.json"], start))).toMatchObject({ js: { pm: "npm" } });
    expect(plan(js(["pnpm-lock.yaml", "yarn.lock"], start))).toMatchObject({ js: { pm: "yarn" } });
  });

  test("yarn 2+ when .yarnrc.yml is there or packageManager says so", () => {
    expect(plan(js(["yarn.lock", ".yarnrc.yml"], start))).toMatchObject({ js: { pm: "yarn-berry", lockfile: "yarn.lock" } });
    expect(plan(js(["yarn.lock"], app({ start: "x" }, { packageManager: "yarn@4.1.0" })))).toMatchObject({ js: { pm: "yarn-berry" } });
    expect(plan(js(["yarn.lock"], app({ start: "x" }, { packageManager: "yarn@1.22.19" })))).toMatchObject({ js: { pm: "yarn" } });
  });

  test("no lockfile: the packageManager field, else signs of bun, else npm", () => {
    expect(plan(js([], app({ start: "x" }, { packageManager: "pnpm@9.1.0" })))).toEqual({ builder: "node", js: { pm: "pnpm", lockfile: null }, build: false });
    expect(plan(js([], app({ start: "x" }, { packageManager: "bun@1.1.0" })))).toMatchObject({ builder: "bun", js: { pm: "bun", lockfile: null } });
    expect(plan(js([], app({ start: "bun server.ts" })))).toMatchObject({ builder: "bun", js: { pm: "bun", lockfile: null } });
    expect(plan(js([], app({ start: "NODE_ENV=x bun run src/index.ts" })))).toMatchObject({ builder: "bun" });
    expect(plan(js([], app({ start: "node a.js", build: "bunx vite build" })))).toMatchObject({ builder: "bun" });
    expect(plan(js(["bunfig.toml"], app({ start: "x" })))).toMatchObject({ builder: "bun" });
    expect(plan(js([], app({ start: "x" }, { devDependencies: { "@types/bun": "1" } })))).toMatchObject({ builder: "bun" });
    expect(plan(js([], app({ start: "x" }, { dependencies: { "bun-types": "1" } })))).toMatchObject({ builder: "bun" });
    expect(plan(js([], app({ start: "x" }, { engines: { bun: ">=1" } })))).toMatchObject({ builder: "bun" });
    // "bun" only as a word of its own: bundlers and paths don't count.
    expect(plan(js([], app({ start: "node bundle.js", build: "rollup -c bun.config.js" })))).toEqual({ builder: "node", js: { pm: "npm", lockfile: null }, build: true });
    expect(plan(js([], app({ start: "node server.js" })))).toMatchObject({ builder: "node", js: { pm: "npm", lockfile: null } });
  });

  test("a lockfile wins over the packageManager field", () => {
    expect(plan(js(["package-lock.json"], app({ start: "x" }, { packageManager: "pnpm@9.0.0" })))).toMatchObject({ js: { pm: "npm" } });
  });

  test("packageManager() alone", () => {
    expect(packageManager(new Set(), {}, [])).toEqual({ pm: "npm", lockfile: null });
    expect(packageManager(new Set(), { packageManager: "nonsense" }, [])).toEqual({ pm: "npm", lockfile: null });
    expect(packageManager(new Set(), { packageManager: "yarn@3.6.0" }, [])).toEqual({ pm: "yarn-berry", lockfile: null });
  });
});

describe("JavaScript: scripts decide app or static site", () => {
  test("start → an app; build runs first when present", () => {
    const d = js(["bun.lock"], app({ build: "bun build ./src --outdir dist", start: "bun dist/index.js" }));
    expect(plan(d)).toEqual({ builder: "bun", js: { pm: "bun", lockfile: "bun.lock" }, build: true });
    expect(d.ok && d.why).toBe('a Bun app: package.json with a "start" script and a "build" script; package manager bun (bun.lock)');
  });

  test("build without start → a static site built by it", () => {
    const d = js(["package-lock.json", "index.html"], app({ dev: "vite", build: "vite build", preview: "vite preview" }));
    expect(plan(d)).toEqual({ builder: "static", builtBy: { pm: "npm", lockfile: "package-lock.json" } });
    expect(d.ok && d.why).toContain("dist/, build/, out/, public/");
  });

  test("neither: an index.html is served as is, else a failure that says why", () => {
    expect(plan(js(["index.html"], app({ test: "jest" })))).toEqual({ builder: "static", dir: "." });
    expect(plan(js(["public/", "public/index.html"], pkg({ devDependencies: { prettier: "3" } })))).toEqual({ builder: "static", dir: "public" });
    expect(reason(js(["src/"], app({ test: "jest" })))).toMatch(/no "start" script .* nor a "build" script/);
  });

  test("empty or non-string scripts don't count", () => {
    expect(reason(js([], app({ start: "  " })))).toMatch(/no "start" script/);
    expect(reason(js([], pkg({ scripts: { start: 1 } })))).toMatch(/no "start" script/);
    expect(reason(js([], pkg({ scripts: ["start"] })))).toMatch(/no "start" script/);
  });

  test("broken package.json fails instead of guessing", () => {
    expect(reason(js(["index.html"], "{ nope"))).toBe("package.json is not valid JSON");
    expect(reason(js([], "[1,2]"))).toBe("package.json is not a JSON object");
    expect(reason(js([], "null"))).toBe("package.json is not a JSON object");
    expect(reason(detect({ entries: ["package.json"] }))).toBe("package.json is not valid JSON");
  });

  test("package.json comes before go.mod, Python and index.html", () => {
    expect(plan(js(["go.mod", "main.go", "requirements.txt", "main.py", "index.html"], app({ start: "node ." })))).toMatchObject({ builder: "node" });
  });
});

describe("static sites", () => {
  test.each([
    [["index.html"], "."],
    [["dist/", "dist/index.html"], "dist"],
    [["build/", "build/index.html"], "build"],
    [["public/", "public/index.html"], "public"],
    [["index.html", "dist/", "dist/index.html", "public/", "public/index.html"], "."],
    [["build/", "build/index.html", "public/", "public/index.html"], "build"],
  ])("%j → %s", (entries, dir) => {
    expect(plan(detect({ entries }))).toEqual({ builder: "static", dir: dir as "." });
  });

  test("a directory alone, or an index.html elsewhere, is not a site", () => {
    expect(reason(detect({ entries: ["dist/", "public/", "site/"] }))).toBe(NOTHING_FOUND);
    expect(reason(detect({ entries: ["index.htm", "README.md"] }))).toBe(NOTHING_FOUND);
  });
});

describe("Go", () => {
  test("main package at the root", () => {
    expect(plan(detect({ entries: ["go.mod", "go.sum", "main.go"] }))).toEqual({ builder: "go", pkg: "." });
  });
  test("only tests at the root don't make a main package; the one cmd/ directory does", () => {
    expect(plan(detect({ entries: ["go.mod", "x_test.go", "cmd/", "cmd/server/"] }))).toEqual({ builder: "go", pkg: "./cmd/server" });
  });
  test("several commands, none, or a strange name: refused with the reason", () => {
    expect(reason(detect({ entries: ["go.mod", "cmd/", "cmd/a/", "cmd/b/"] }))).toMatch(/2 directories under cmd\/.*Containerfile/);
    expect(reason(detect({ entries: ["go.mod", "internal/"] }))).toMatch(/no \.go files at the root and no directory under cmd\//);
    expect(reason(detect({ entries: ["go.mod", "cmd/", "cmd/a b/"] }))).toMatch(/won't use/);
    expect(reason(detect({ entries: ["go.mod", "cmd/", 'cmd/x"]\nRUN evil/'] }))).toMatch(/won't use/);
    expect(reason(detect({ entries: ["go.mod", "cmd/", "cmd/-x/"] }))).toMatch(/won't use/);
  });
  test("go.mod comes before Python and index.html", () => {
    expect(plan(detect({ entries: ["go.mod", "main.go", "requirements.txt", "index.html"] }))).toMatchObject({ builder: "go" });
  });
});

describe("Python", () => {
  test("requirements.txt first, then pyproject.toml", () => {
    expect(plan(detect({ entries: ["requirements.txt", "pyproject.toml", "app.py"] }))).toEqual({ builder: "python", install: "requirements.txt", start: { file: "app.py" } });
    expect(plan(detect({ entries: ["pyproject.toml", "main.py", "app.py"] }))).toEqual({ builder: "python", install: "pyproject.toml", start: { file: "main.py" } });
    expect(plan(detect({ entries: ["requirements.txt", "server.py"] }))).toMatchObject({ start: { file: "server.py" } });
  });
  test("the Procfile's web command wins", () => {
    const procfile = "release: python manage.py migrate\nweb: gunicorn app:app --bind 0.0.0.0:$PORT  \nworker: celery\n";
    expect(plan(detect({ entries: ["requirements.txt", "Procfile", "app.py"], procfile }))).toEqual({
      builder: "python",
      install: "requirements.txt",
      start: { procfile: "gunicorn app:app --bind 0.0.0.0:$PORT" },
    });
  });
  test("a Procfile without web falls back to the entry files", () => {
    expect(plan(detect({ entries: ["requirements.txt", "Procfile", "main.py"], procfile: "worker: x\n" }))).toMatchObject({ start: { file: "main.py" } });
  });
  test("a web command with control characters or too long is refused", () => {
    expect(reason(detect({ entries: ["requirements.txt", "Procfile"], procfile: "web: a\tb" }))).toMatch(/printable ASCII/);
    expect(reason(detect({ entries: ["requirements.txt", "Procfile"], procfile: "web: a\rRUN x" }))).toMatch(/printable ASCII/);
    expect(reason(detect({ entries: ["requirements.txt", "Procfile"], procfile: "web: é" }))).toMatch(/printable ASCII/);
    expect(reason(detect({ entries: ["requirements.txt", "Procfile"], procfile: `web: ${"x".repeat(1001)}` }))).toMatch(/1000/);
  });
  test("nothing to start: says what it needs", () => {
    expect(reason(detect({ entries: ["requirements.txt", "lib.py"] }))).toBe("a Python app (requirements.txt) needs a Procfile with a web: line, or main.py, app.py, server.py at the root");
  });
  test("Python comes before index.html", () => {
    expect(plan(detect({ entries: ["requirements.txt", "main.py", "index.html"] }))).toMatchObject({ builder: "python" });
  });
  test("procfileWeb()", () => {
    expect(procfileWeb("web: a\n")).toBe("a");
    expect(procfileWeb("web:a")).toBe("a");
    expect(procfileWeb("web:   \n")).toBeUndefined();
    expect(procfileWeb(" web: a")).toBeUndefined();
    expect(procfileWeb("webx: a")).toBeUndefined();
    expect(procfileWeb("worker: a\r\nweb: b\r\n")).toBe("b");
  });
});

test("nothing recognised: the reason names everything looked for", () => {
  const r = reason(detect({ entries: ["README.md", "docs/", "LICENSE"] }));
  expect(r).toBe(NOTHING_FOUND);
  expect(r).toContain(LOOKED_FOR);
  for (const what of ["Containerfile", "Dockerfile", "package.json", "go.mod", "requirements.txt", "pyproject.toml", "index.html in ., dist/, build/, public/"]) {
    expect(r).toContain(what);
  }
  expect(reason(detect({ entries: [] }))).toBe(NOTHING_FOUND);
});
