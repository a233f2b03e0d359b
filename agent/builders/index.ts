/**
 * Builds without a Dockerfile: reads what detection needs from a clone,
 * detects the stack, writes the generated Containerfile into the build
 * context and prints it into the build log.
 */
import { lstat, open, readdir, realpath, rm } from "node:fs/promises";
import { join, sep } from "node:path";
import { generateContainerfile } from "./containerfiles";
import { detect, NOTHING_FOUND, STATIC_DIRS, type Builder, type RepoFacts } from "./detect";
import { STATIC_ROOT, type BuildImages } from "./images";

export { DEFAULT_BUILD_IMAGES, type BuildImages } from "./images";
export type { Builder } from "./detect";

/** The generated file's name in the clone (written fresh, never through an existing entry). */
export const GENERATED_CONTAINERFILE = ".wisehosting.Containerfile";
/** Written for generated builds: the repository's own ignore rules, then ours. */
export const IGNORE_FILE = ".containerignore";
/** Kept out of generated images: git history (a static site would serve it) and our own files. */
export const ALWAYS_IGNORED = [".git", IGNORE_FILE, ".dockerignore", GENERATED_CONTAINERFILE];

const MAX_PACKAGE_JSON = 1024 * 1024;
const MAX_PROCFILE = 64 * 1024;
const MAX_IGNORE = 1024 * 1024;

/** True when the root has an entry named Containerfile or Dockerfile of any kind (findContainerfile judges it). */
export async function hasContainerfileEntry(root: string): Promise<boolean> {
  for (const name of ["Containerfile", "Dockerfile"]) {
    if (await lstat(join(root, name)).then(() => true, () => false)) return true;
  }
  return false;
}

/** What {@link detect} needs: the root's entries and a few below it, package.json and Procfile text. */
export async function readRepoFacts(root: string): Promise<RepoFacts> {
  const entries: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (e.isFile()) entries.push(e.name);
    else if (e.isDirectory()) entries.push(`${e.name}/`);
  }
  const has = new Set(entries);
  for (const d of STATIC_DIRS) {
    if (d !== "." && has.has(`${d}/`) && (await isRegularFile(join(root, d, "index.html")))) entries.push(`${d}/index.html`);
  }
  if (has.has("cmd/")) {
    for (const e of await readdir(join(root, "cmd"), { withFileTypes: true })) if (e.isDirectory()) entries.push(`cmd/${e.name}/`);
  }
  const facts: RepoFacts = { entries };
  if (has.has("package.json")) facts.packageJson = await readSmall(join(root, "package.json"), MAX_PACKAGE_JSON);
  if (has.has("Procfile")) facts.procfile = await readSmall(join(root, "Procfile"), MAX_PROCFILE);
  return facts;
}

export interface GeneratedBuild {
  builder: Exclude<Builder, "containerfile">;
  /** Absolute path of the generated Containerfile, inside the clone. */
  containerfile: string;
  text: string;
}

/**
 * Detects the stack of the clone at `root`, writes the generated Containerfile
 * (and an ignore file) into it and logs what it did, the file line by line.
 * Throws with a message saying what was looked for when nothing fits.
 */
export async function generateBuild(root: string, images: BuildImages, log: (line: string) => void): Promise<GeneratedBuild> {
  const real = await realpath(root);
  const found = detect(await readRepoFacts(real));
  if (!found.ok) {
    log(`==> ${found.reason}`);
    throw new Error(found.reason);
  }
  const text = generateContainerfile(found.plan, images);
  const containerfile = join(real, GENERATED_CONTAINERFILE);
  await writeFresh(containerfile, text);
  await writeFresh(join(real, IGNORE_FILE), await ignoreRules(real));
  log(`==> No Containerfile or Dockerfile: detected ${found.why}`);
  if (found.plan.builder === "static") log(`==> The static image's own command serves ${STATIC_ROOT} on $PORT (WH_BUILD_IMAGE_STATIC=${images.static})`);
  log(`==> Generated ${GENERATED_CONTAINERFILE} (builder ${found.plan.builder}):`);
  for (const line of text.trimEnd().split("\n")) log(`    ${line}`);
  return { builder: found.plan.builder, containerfile, text };
}

/** The repository's .containerignore (else .dockerignore) when it is a file inside it, then {@link ALWAYS_IGNORED}. */
export async function ignoreRules(root: string): Promise<string> {
  let own = "";
  for (const name of [IGNORE_FILE, ".dockerignore"]) {
    let path: string;
    try {
      path = await realpath(join(root, name));
    } catch {
      continue;
    }
    if (path.startsWith(root + sep) && (await isRegularFile(path))) {
      own = await readSmall(path, MAX_IGNORE);
      break;
    }
  }
  const ours = `# added by WiseHosting\n${ALWAYS_IGNORED.join("\n")}\n`;
  return own ? `${own.replace(/\n?$/, "\n")}${ours}` : ours;
}

async function isRegularFile(path: string): Promise<boolean> {
  return lstat(path).then((s) => s.isFile(), () => false);
}

async function readSmall(path: string, max: number): Promise<string> {
  const fh = await open(path, "r");
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${path.split(sep).pop()} is not a regular file`);
    if (st.size > max) throw new Error(`${path.split(sep).pop()} is larger than ${max / 1024} KiB`);
    return await fh.readFile("utf8");
  } finally {
    await fh.close();
  }
}

/** Replaces whatever is at `path` (a symlink itself, never its target) with a new file. */
async function writeFresh(path: string, text: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  const fh = await open(path, "wx", 0o644);
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}
