/**
 * Which stack a repository without a Containerfile is, decided from a listing
 * of its files and the text of its package.json and Procfile. Pure: reading
 * the repository is ./index.ts's job.
 *
 * Rules, first match wins:
 * 1. package.json:
 *    - the package manager comes from the lockfile: bun.lock / bun.lockb → bun,
 *      package-lock.json / npm-shrinkwrap.json → npm, yarn.lock → yarn (2+ when
 *      .yarnrc.yml is there or packageManager says so), pnpm-lock.yaml → pnpm;
 *      without one, from the packageManager field, else bun when the project
 *      shows it uses bun (bunfig.toml, @types/bun or bun-types, engines.bun, a
 *      start/build script calling bun), else npm;
 *    - a "start" script → an app (builder "bun" for the bun package manager,
 *      else "node"), its "build" script run first when there is one;
 *    - else a "build" script → a static site built by it (the first of dist/,
 *      build/, out/, public/ holding an index.html is served);
 *    - else an index.html in ., dist/, build/, public/ → a static site;
 *    - else it fails saying so.
 * 2. go.mod → Go: the package at the root when it has .go files, else the one
 *    directory under cmd/.
 * 3. requirements.txt, else pyproject.toml → Python: started by the Procfile's
 *    `web:` line, else the first of main.py, app.py, server.py.
 * 4. index.html in ., dist/, build/, public/ (in that order) → a static site.
 * 5. Nothing: fails with {@link NOTHING_FOUND}, which names all of the above.
 */

export type Builder = "containerfile" | "bun" | "node" | "static" | "python" | "go";
export type PackageManager = "bun" | "npm" | "yarn" | "yarn-berry" | "pnpm";
export type StaticDir = "." | "dist" | "build" | "public";

export interface JsSetup {
  pm: PackageManager;
  /** The lockfile the install must match, or null (a plain install). */
  lockfile: string | null;
}

export type PythonStart = { file: string } | { procfile: string };

export type BuildPlan =
  | { builder: "bun" | "node"; js: JsSetup; build: boolean }
  | { builder: "static"; dir: StaticDir }
  | { builder: "static"; builtBy: JsSetup }
  | { builder: "python"; install: "requirements.txt" | "pyproject.toml"; start: PythonStart }
  | { builder: "go"; pkg: string };

export interface RepoFacts {
  /**
   * Regular files as paths relative to the repository root, directories with
   * a trailing '/': every entry of the root, plus `<d>/index.html` for d in
   * dist, build, public and `cmd/<name>/` when they exist. Symlinks are left
   * out.
   */
  entries: readonly string[];
  /** The text of package.json, when there is one. */
  packageJson?: string;
  /** The text of Procfile, when there is one. */
  procfile?: string;
}

export type Detection = { ok: true; plan: BuildPlan; why: string } | { ok: false; reason: string };

/** Where a static site's index.html is looked for, in order. */
export const STATIC_DIRS: readonly StaticDir[] = [".", "dist", "build", "public"];
/** Where a build script's output is looked for, in order (in the build container). */
export const BUILD_OUTPUT_DIRS = ["dist", "build", "out", "public"] as const;

export const LOOKED_FOR =
  "Containerfile, Dockerfile, package.json, go.mod, requirements.txt, pyproject.toml, and index.html in ., dist/, build/, public/";
export const NOTHING_FOUND = `no Containerfile or Dockerfile, and no stack recognised: looked for ${LOOKED_FOR}`;

/** package.json script names the generated file may run (as an argument, never through a shell). */
export const SCRIPT_NAME = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/;
/** A directory name under cmd/ the Go builder may build. */
const GO_CMD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Python entry points tried when there is no Procfile, in order. */
export const PYTHON_ENTRY_FILES = ["main.py", "app.py", "server.py"] as const;
/** Longest Procfile command taken (it goes into the generated file, JSON-quoted). */
const MAX_COMMAND = 1000;

const LOCKFILES: readonly [string, PackageManager][] = [
  ["bun.lock", "bun"],
  ["bun.lockb", "bun"],
  ["package-lock.json", "npm"],
  ["npm-shrinkwrap.json", "npm"],
  ["yarn.lock", "yarn"],
  ["pnpm-lock.yaml", "pnpm"],
];

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const fail = (reason: string): Detection => ({ ok: false, reason });

export function detect(facts: RepoFacts): Detection {
  const has = new Set(facts.entries);
  if (has.has("package.json")) return detectJs(has, facts.packageJson ?? "");
  if (has.has("go.mod")) return detectGo(facts.entries);
  if (has.has("requirements.txt") || has.has("pyproject.toml")) return detectPython(has, facts.procfile);
  const dir = staticDir(has);
  if (dir) return { ok: true, plan: { builder: "static", dir }, why: `a static site: ${where(dir)}` };
  return fail(NOTHING_FOUND);
}

function staticDir(has: ReadonlySet<string>): StaticDir | undefined {
  return STATIC_DIRS.find((d) => has.has(d === "." ? "index.html" : `${d}/index.html`));
}

function where(dir: StaticDir): string {
  return dir === "." ? "index.html at the root" : `${dir}/index.html`;
}

function detectJs(has: ReadonlySet<string>, text: string): Detection {
  let pkg: unknown;
  try {
    pkg = JSON.parse(text);
  } catch {
    return fail("package.json is not valid JSON");
  }
  if (!isRecord(pkg)) return fail("package.json is not a JSON object");
  const scripts = isRecord(pkg.scripts) ? pkg.scripts : {};
  const script = (name: string) => (typeof scripts[name] === "string" && scripts[name].trim() !== "" ? scripts[name] : undefined);
  const js = packageManager(has, pkg, [script("start"), script("build")]);
  const how = js.lockfile ? `${js.pm} (${js.lockfile})` : `${js.pm} (no lockfile)`;
  if (script("start")) {
    const builder = js.pm === "bun" ? "bun" : "node";
    const build = script("build") !== undefined;
    return {
      ok: true,
      plan: { builder, js, build },
      why: `a ${builder === "bun" ? "Bun" : "Node"} app: package.json with a "start" script${build ? ` and a "build" script` : ""}; package manager ${how}`,
    };
  }
  if (script("build")) {
    return {
      ok: true,
      plan: { builder: "static", builtBy: js },
      why: `a static site built by package.json's "build" script (no "start" script), package manager ${how}; served from the first of ${BUILD_OUTPUT_DIRS.map((d) => `${d}/`).join(", ")} with an index.html`,
    };
  }
  const dir = staticDir(has);
  if (dir) return { ok: true, plan: { builder: "static", dir }, why: `a static site: ${where(dir)} (package.json has no "start" or "build" script)` };
  return fail(
    `package.json has no "start" script (to run an app) nor a "build" script (to build a static site), and there is no index.html in ., dist/, build/, public/`,
  );
}

/** The package manager: lockfile first, then the packageManager field, then signs of bun, then npm. */
export function packageManager(has: ReadonlySet<string>, pkg: Json, scripts: readonly (string | undefined)[]): JsSetup {
  const declared = typeof pkg.packageManager === "string" ? /^(bun|npm|yarn|pnpm)@(\d+)/.exec(pkg.packageManager) : null;
  const berry = has.has(".yarnrc.yml") || (declared?.[1] === "yarn" && Number(declared[2]) >= 2);
  const lock = LOCKFILES.find(([file]) => has.has(file));
  if (lock) {
    const [lockfile, pm] = lock;
    return { pm: pm === "yarn" && berry ? "yarn-berry" : pm, lockfile };
  }
  if (declared) {
    const pm = declared[1] as "bun" | "npm" | "yarn" | "pnpm";
    return { pm: pm === "yarn" && berry ? "yarn-berry" : pm, lockfile: null };
  }
  const deps = [pkg.dependencies, pkg.devDependencies].filter(isRecord);
  const usesBun =
    has.has("bunfig.toml") ||
    deps.some((d) => "@types/bun" in d || "bun-types" in d) ||
    (isRecord(pkg.engines) && "bun" in pkg.engines) ||
    scripts.some((s) => s !== undefined && /(^|[\s;&|(])bunx?(?=\s|$)/.test(s));
  return { pm: usesBun ? "bun" : "npm", lockfile: null };
}

function detectGo(entries: readonly string[]): Detection {
  if (entries.some((e) => /^[^/]+\.go$/.test(e) && !e.endsWith("_test.go"))) {
    return { ok: true, plan: { builder: "go", pkg: "." }, why: "a Go app: go.mod, with the main package at the root" };
  }
  const cmds = entries.flatMap((e) => {
    const m = /^cmd\/([^/]+)\/$/.exec(e);
    return m ? [m[1]!] : [];
  });
  if (cmds.length === 1) {
    const name = cmds[0]!;
    if (!GO_CMD_NAME.test(name)) return fail("go.mod: the directory under cmd/ has a name the Go builder won't use (letters, digits, '.', '_', '-' only)");
    return { ok: true, plan: { builder: "go", pkg: `./cmd/${name}` }, why: `a Go app: go.mod, with the main package in cmd/${name}/` };
  }
  if (cmds.length > 1) return fail(`go.mod with ${cmds.length} directories under cmd/: add a Containerfile that says which one runs`);
  return fail("go.mod, but no .go files at the root and no directory under cmd/ to build");
}

function detectPython(has: ReadonlySet<string>, procfile: string | undefined): Detection {
  const install = has.has("requirements.txt") ? "requirements.txt" : "pyproject.toml";
  const web = procfile === undefined ? undefined : procfileWeb(procfile);
  if (web !== undefined) {
    if (web.length > MAX_COMMAND || !/^[\x20-\x7e]+$/.test(web)) return fail("the Procfile's web command must be one line of printable ASCII, at most 1000 characters");
    return { ok: true, plan: { builder: "python", install, start: { procfile: web } }, why: `a Python app: ${install}, started by the Procfile's web command` };
  }
  const file = PYTHON_ENTRY_FILES.find((f) => has.has(f));
  if (!file) return fail(`a Python app (${install}) needs a Procfile with a web: line, or ${PYTHON_ENTRY_FILES.join(", ")} at the root`);
  return { ok: true, plan: { builder: "python", install, start: { file } }, why: `a Python app: ${install}, started with python ${file}` };
}

/** The command of the Procfile's `web:` process, or undefined. */
export function procfileWeb(text: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const m = /^web:([\s\S]*)$/.exec(line);
    if (m) return m[1]!.trim() || undefined;
  }
  return undefined;
}
