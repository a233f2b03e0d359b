/**
 * Agent configuration: environment variables, each with an equivalent
 * `--flag value` (flags win). Parsed once at start; a bad value stops the
 * agent with one line naming the variable.
 */
import { z } from "zod";
import { hostname, totalmem } from "node:os";
import { isIP } from "node:net";
import { resolve, join } from "node:path";
import { Sensitive } from "./exec";
import { DEFAULT_BUILD_IMAGES, isImageRef, STATIC_ROOT, type BuildImages } from "./builders/images";

export const AGENT_VERSION = "0.1.0";

export interface AgentConfig {
  /** Control plane base URL without a trailing slash, e.g. http://127.0.0.1:8080. */
  hubUrl: string;
  /** Cluster secret; only needed for the first registration. */
  workerSecret: Sensitive | undefined;
  workerName: string;
  /** Absolute path; holds state.json and transient env files. */
  stateDir: string;
  /** IP the containers' ports are published on; the control plane proxies to it. */
  advertiseAddr: string;
  memoryMb: number;
  /** Absolute path; clones go here. */
  workDir: string;
  buildMemoryMb: number;
  buildCpus: number;
  /** Base images of builds generated for repositories without a Containerfile (parseConfig always sets them; absent: the defaults). */
  buildImages?: BuildImages;
  /** Builds running at once on this worker; more wait for a slot (parseConfig always sets it; absent: 2). */
  maxConcurrentBuilds?: number;
}

/** Turns a host name into a worker name: lowercase [a-z0-9-], 1–63 chars. */
export function sanitizeName(raw: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+/, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return name.length > 0 ? name : "worker";
}

const positiveInt = z.coerce.number({ error: "must be a number" }).int("must be a whole number").positive("must be positive");

const hubUrl = z
  .string()
  .min(1, "is required")
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password && !u.search && !u.hash;
    } catch {
      return false;
    }
  }, "must be an http:// or https:// base URL without credentials, query or fragment")
  .transform((v) => v.replace(/\/+$/, ""));

const advertiseAddr = z
  .string()
  .refine((v) => isIP(v) !== 0, "must be an IPv4 or IPv6 address of this host")
  .refine((v) => v !== "0.0.0.0" && v !== "::", "must be a concrete address the control plane can reach, not 0.0.0.0 or ::");

const imageRef = z.string().refine(isImageRef, "must be an image reference like docker.io/library/node:22-slim");

const workerName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and '-', 1-63 chars");

interface Option {
  env: string;
  flag: string;
  help: string;
  default: () => string | undefined;
  /** Secrets get no flag: argv is readable by every user of the host. */
  noFlag?: boolean;
  schema: z.ZodType;
}

/** Every setting, in the order `--help` lists them. */
export const OPTIONS: readonly Option[] = [
  { env: "WH_HUB_URL", flag: "--hub-url", help: "control plane base URL (required)", default: () => undefined, schema: hubUrl },
  {
    env: "WH_WORKER_SECRET",
    flag: "",
    help: "cluster secret, needed only for the first registration (env only)",
    default: () => undefined,
    noFlag: true,
    schema: z.string().optional(),
  },
  {
    env: "WH_WORKER_NAME",
    flag: "--worker-name",
    help: "worker name",
    default: () => sanitizeName(hostname()),
    schema: workerName,
  },
  {
    env: "WH_WORKER_STATE_DIR",
    flag: "--state-dir",
    help: "holds state.json (worker id, api key)",
    default: () => "./wisehosting-agent-state",
    schema: z.string().min(1),
  },
  {
    env: "WH_WORKER_ADVERTISE_ADDR",
    flag: "--advertise-addr",
    help: "address container ports are published on",
    default: () => "127.0.0.1",
    schema: advertiseAddr,
  },
  {
    env: "WH_WORKER_MEMORY_MB",
    flag: "--memory-mb",
    help: "memory offered to deployments",
    default: () => String(Math.floor(totalmem() / (1024 * 1024))),
    schema: positiveInt,
  },
  {
    env: "WH_WORKER_WORK_DIR",
    flag: "--work-dir",
    help: "where repositories are cloned",
    default: () => undefined,
    schema: z.string().min(1).optional(),
  },
  { env: "WH_BUILD_MEMORY_MB", flag: "--build-memory-mb", help: "memory limit of a build", default: () => "1024", schema: positiveInt },
  {
    env: "WH_BUILD_CPUS",
    flag: "--build-cpus",
    help: "CPU limit of a build",
    default: () => "1",
    schema: z.coerce.number({ error: "must be a number" }).positive("must be a positive number").max(1024),
  },
  {
    env: "WH_MAX_CONCURRENT_BUILDS",
    flag: "--max-concurrent-builds",
    help: "builds running at once; more wait for a slot",
    default: () => "2",
    schema: positiveInt.max(64, "must be at most 64"),
  },
  ...buildImageOptions(),
];

/** WH_BUILD_IMAGE_*: the base image of each generated build (repositories without a Containerfile). */
function buildImageOptions(): Option[] {
  const o = (stack: keyof BuildImages, env: string, flag: string, help: string): Option => ({
    env,
    flag,
    help,
    default: () => DEFAULT_BUILD_IMAGES[stack],
    schema: imageRef,
  });
  return [
    o("bun", "WH_BUILD_IMAGE_BUN", "--image-bun", "base image of Bun apps without a Containerfile"),
    o("node", "WH_BUILD_IMAGE_NODE", "--image-node", "base image of Node apps without a Containerfile (npm, yarn, pnpm)"),
    o("static", "WH_BUILD_IMAGE_STATIC", "--image-static", `static sites: its own command must serve ${STATIC_ROOT} on $PORT`),
    o("python", "WH_BUILD_IMAGE_PYTHON", "--image-python", "base image of Python apps without a Containerfile (pip)"),
    o("go", "WH_BUILD_IMAGE_GO", "--image-go", "compiles Go apps without a Containerfile"),
    o("goRuntime", "WH_BUILD_IMAGE_GO_RUNTIME", "--image-go-runtime", "runs the compiled Go binary"),
  ];
}

export type ParseResult =
  | { kind: "ok"; config: AgentConfig }
  | { kind: "help"; text: string }
  | { kind: "version"; text: string }
  | { kind: "error"; message: string };

/** The `--help` text, with each default as computed on this host. */
export function helpText(): string {
  const lines = [
    `wisehosting-agent ${AGENT_VERSION}: runs WiseHosting deployments on this host with podman.`,
    "",
    "Usage: wisehosting-agent [--flag value]...   (each flag may also be given as an environment variable)",
    "",
  ];
  for (const o of OPTIONS) {
    const def = o.env === "WH_WORKER_WORK_DIR" ? "<state dir>/work" : (o.default() ?? "");
    const flag = o.noFlag ? "" : `${o.flag}`;
    lines.push(`  ${o.env.padEnd(26)}${flag.padEnd(19)}${o.help}${def ? ` (default: ${def})` : ""}`);
  }
  lines.push(`  ${"".padEnd(26)}${"--help".padEnd(19)}print this help`);
  lines.push(`  ${"".padEnd(26)}${"--version".padEnd(19)}print the version`);
  return lines.join("\n");
}

/** Parses argv (without the program name) and env. Pure apart from host defaults. */
export function parseConfig(argv: readonly string[], env: Record<string, string | undefined>): ParseResult {
  const given = new Map<string, string>();
  for (const o of OPTIONS) {
    const v = env[o.env];
    if (v !== undefined && v !== "") given.set(o.env, v);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--help" || arg === "-h") return { kind: "help", text: helpText() };
    if (arg === "--version") return { kind: "version", text: `wisehosting-agent ${AGENT_VERSION}` };
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const opt = OPTIONS.find((o) => !o.noFlag && o.flag === flag);
    if (!opt) return { kind: "error", message: `unknown argument ${JSON.stringify(arg)} (see --help)` };
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) return { kind: "error", message: `${flag} needs a value` };
    given.set(opt.env, value);
  }

  const values: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const raw = given.get(o.env) ?? o.default();
    const parsed = o.schema.safeParse(raw ?? (o.env === "WH_HUB_URL" ? "" : undefined));
    if (!parsed.success) {
      const msg = parsed.error.issues[0]?.message ?? "is invalid";
      return { kind: "error", message: `${o.env}${o.noFlag ? "" : ` (${o.flag})`} ${msg}` };
    }
    values[o.env] = parsed.data;
  }

  const stateDir = resolve(values.WH_WORKER_STATE_DIR as string);
  const secret = values.WH_WORKER_SECRET as string | undefined;
  return {
    kind: "ok",
    config: {
      hubUrl: values.WH_HUB_URL as string,
      workerSecret: secret ? new Sensitive(secret) : undefined,
      workerName: values.WH_WORKER_NAME as string,
      stateDir,
      advertiseAddr: values.WH_WORKER_ADVERTISE_ADDR as string,
      memoryMb: values.WH_WORKER_MEMORY_MB as number,
      workDir: resolve((values.WH_WORKER_WORK_DIR as string | undefined) ?? join(stateDir, "work")),
      buildMemoryMb: values.WH_BUILD_MEMORY_MB as number,
      buildCpus: values.WH_BUILD_CPUS as number,
      maxConcurrentBuilds: values.WH_MAX_CONCURRENT_BUILDS as number,
      buildImages: {
        bun: values.WH_BUILD_IMAGE_BUN as string,
        node: values.WH_BUILD_IMAGE_NODE as string,
        static: values.WH_BUILD_IMAGE_STATIC as string,
        python: values.WH_BUILD_IMAGE_PYTHON as string,
        go: values.WH_BUILD_IMAGE_GO as string,
        goRuntime: values.WH_BUILD_IMAGE_GO_RUNTIME as string,
      },
    },
  };
}

/** Parses process argv/env; prints help/version or a one-line error and exits when asked to. */
export function loadConfig(argv = process.argv.slice(2), env = process.env): AgentConfig {
  const r = parseConfig(argv, env);
  if (r.kind === "ok") return r.config;
  if (r.kind === "error") {
    process.stderr.write(`wisehosting-agent: ${r.message}\n`);
    process.exit(2);
  }
  process.stdout.write(r.text + "\n");
  process.exit(0);
}
