/**
 * REST API shapes shared by the control plane (route validation, OpenAPI) and
 * the dashboard (typed client). Depends only on zod.
 */
import { z } from "zod";
import { deploymentStatus } from "./hub";

/** A DNS label: the project's name is also its host name under WH_APPS_DOMAIN. */
export const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a DNS label: a-z, 0-9 and '-', 1-63 chars, no leading or trailing '-'");

/**
 * Git ref rules (git check-ref-format) for a branch name, and never a leading
 * '-' so it can't be read as an option.
 */
export const branchName = z
  .string()
  .min(1)
  .max(255)
  .refine((b) => isValidBranch(b), "is not a valid git branch name");

export function isValidBranch(b: string): boolean {
  if (b.startsWith("-") || b.startsWith("/") || b.endsWith("/") || b.endsWith(".") || b.endsWith(".lock")) return false;
  if (b === "@" || b.includes("..") || b.includes("@{") || b.includes("//")) return false;
  if (/[\x00-\x20\x7f~^:?*\[\\]/.test(b)) return false;
  return b.split("/").every((part) => part.length > 0 && !part.startsWith("."));
}

/** A relative path inside the repository, no escaping it. */
export const repoPath = z
  .string()
  .min(1)
  .max(255)
  .refine(
    (p) => !p.startsWith("/") && !p.startsWith("-") && !p.split("/").includes("..") && !/[\x00-\x1f\x7f]/.test(p),
    "must be a relative path inside the repository",
  );

export const healthPath = z
  .string()
  .max(1024)
  .regex(/^\/[\x21-\x7e]*$/, "must start with '/' and hold only visible ASCII");

/** A repository's full name as git providers spell it: owner/name (GitLab also group/sub/name). */
export const repoFullName = z
  .string()
  .min(3)
  .max(255)
  .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){1,10}$/, "must be a full repository name like owner/name")
  .refine((r) => !r.split("/").some((s) => s === "." || s === ".."), "must be a full repository name like owner/name");

/** A new project's repository at a linked git account: the webhook is then created through the provider's API. */
export const projectGitInput = z
  .object({
    link_id: z.string().uuid("must be a UUID"),
    repo: repoFullName,
    auto_deploy: z.boolean().default(true),
    previews: z.boolean().default(false),
  })
  .strict();
export type ProjectGitInput = z.infer<typeof projectGitInput>;

export const projectCreate = z.object({
  name: dnsLabel,
  repo_url: z.string().min(1).max(2048),
  branch: branchName.default("main"),
  dockerfile: repoPath.nullable().default(null),
  port: z.number().int().min(1).max(65535).default(8080),
  memory_mb: z.number().int().min(16).max(1024 * 1024).default(256),
  cpus: z.number().min(0.01).max(256).default(0.5),
  health_path: healthPath.default("/"),
  /** The agent kills a build running longer and the deployment fails with "build timed out". */
  build_timeout_s: z.number().int().min(30).max(7200).default(900),
  /** Optional: the repository at a linked git account (GET /v1/git-links) that repo_url points at. */
  git: projectGitInput.optional(),
}).strict();
export type ProjectCreate = z.infer<typeof projectCreate>;

export const projectPatch = projectCreate.omit({ git: true }).partial().strict();
export type ProjectPatch = z.infer<typeof projectPatch>;

export const project = z.object({
  id: z.string(),
  name: z.string(),
  repo_url: z.string(),
  branch: z.string(),
  dockerfile: z.string().nullable(),
  port: z.number(),
  memory_mb: z.number(),
  cpus: z.number(),
  health_path: z.string(),
  build_timeout_s: z.number(),
  url: z.string(),
  status: z.string(),
  current_deployment_id: z.string().nullable(),
  worker_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Project = z.infer<typeof project>;

export const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;
/**
 * Names a build-time variable can't have: the agent hands build-time values to
 * `podman build` through its environment, where these would change podman itself.
 */
export const RESERVED_BUILD_ENV = /^(PATH|HOME|USER|LOGNAME|SHELL|TMPDIR|LANG|TZ|LC_[A-Z0-9_]*|XDG_[A-Z0-9_]*|CONTAINERS_[A-Z0-9_]*|_CONTAINERS_[A-Z0-9_]*|BUILDAH_[A-Z0-9_]*|PODMAN_[A-Z0-9_]*|STORAGE_[A-Z0-9_]*|REGISTRY_[A-Z0-9_]*|LD_[A-Z0-9_]*|DBUS_[A-Z0-9_]*|NOTIFY_SOCKET|SSL_CERT_[A-Z0-9_]*)$/;
export const envPut = z
  .object({
    vars: z.record(
      z.string().max(256).regex(ENV_KEY, "env keys must match [A-Z_][A-Z0-9_]*"),
      z.string().max(64 * 1024).refine((v) => !/[\0\n\r]/.test(v), "values can't hold NUL, CR or LF"),
    ),
    /**
     * Keys of `vars` that are also build-time: passed to the build as build arguments (ARG) as well as to the
     * container. Absent: the keys that were build-time stay so.
     */
    build: z
      .array(z.string().max(256).refine((k) => !RESERVED_BUILD_ENV.test(k), "this name is reserved for the build's own environment"))
      .max(500)
      .optional(),
  })
  .strict()
  .refine((b) => (b.build ?? []).every((k) => k in b.vars), { message: "every build key must be one of vars", path: ["build"] });
export type EnvPut = z.infer<typeof envPut>;
export const envView = z.object({ vars: z.record(z.string(), z.string()), build: z.array(z.string()), revealed: z.boolean() });

const commitSha = z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/, "must be a full commit SHA (40 or 64 lowercase hex)");

/** Body of POST /v1/projects/:id/deployments: none (the project's branch), another branch, or an exact commit. */
export const deployTarget = z
  .object({ branch: branchName.optional(), commit_sha: commitSha.optional() })
  .strict()
  .refine((b) => !(b.branch !== undefined && b.commit_sha !== undefined), "give branch or commit_sha, not both");
export type DeployTarget = z.infer<typeof deployTarget>;

export const deploymentCreated = z.object({ id: z.string(), status: z.literal("queued") });

export const deployment = z.object({
  id: z.string(),
  project_id: z.string(),
  status: deploymentStatus,
  worker_id: z.string().nullable(),
  commit_sha: z.string().nullable(),
  host_port: z.number().nullable(),
  error: z.string().nullable(),
  pending_reason: z.string().nullable(),
  created_by: z.string().nullable(),
  /** Set on a rollback: the deployment whose commit this one builds again. */
  redeploy_of: z.string().nullable(),
  /** What made the Containerfile: "containerfile" (the repository's own), or the detected stack ("bun", "node", "static", "python", "go"); null before building. */
  builder: z.string().nullable(),
  queued_at: z.string(),
  building_at: z.string().nullable(),
  starting_at: z.string().nullable(),
  running_at: z.string().nullable(),
  failed_at: z.string().nullable(),
  stopped_at: z.string().nullable(),
  superseded_at: z.string().nullable(),
});
export type Deployment = z.infer<typeof deployment>;

export const worker = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(["online", "offline"]),
  last_heartbeat: z.string().nullable(),
  capacity_mb: z.number(),
  allocated_mb: z.number(),
  address: z.string(),
  containers_running: z.number(),
  draining: z.boolean(),
});
export type Worker = z.infer<typeof worker>;

export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorBody = z.infer<typeof errorBody>;

export const idParam = z.object({ id: z.string().uuid("must be a UUID") });
