/** Env vars: AES-256-GCM at rest (HKDF purpose "env"), masked unless revealed. */
import type { AppContext } from "../context";
import { decrypt, encrypt } from "../crypto";
import type { Viewer } from "../projects/queries";
import { getProject } from "../projects/service";
import { BadRequest } from "../http/errors";
import { listBuildKeys, listEnv, replaceEnv } from "./queries";
import { audit, type Caller } from "../audit/service";

export const MASK = "********";
const MAX_VARS = 500;

/** Binds each ciphertext to its project and key, so rows can't be swapped around. */
const aad = (projectId: string, key: string) => `${projectId}:${key}`;

export async function decryptedEnv(ctx: AppContext, projectId: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const r of await listEnv(ctx.sql, projectId)) out[r.key] = decrypt(ctx.config.masterKey, "env", r.value_enc, aad(projectId, r.key));
  return out;
}

/** The build-time subset of `env` (the project's decrypted env): what the agent passes to `podman build`. */
export async function buildEnv(ctx: AppContext, projectId: string, env: Record<string, string>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const k of await listBuildKeys(ctx.sql, projectId)) if (k in env) out[k] = env[k]!;
  return out;
}

export async function get(ctx: AppContext, v: Viewer, projectId: string, reveal: boolean) {
  await getProject(ctx, v, projectId);
  const vars = await decryptedEnv(ctx, projectId);
  if (!reveal) for (const k of Object.keys(vars)) vars[k] = MASK;
  return { vars, build: await listBuildKeys(ctx.sql, projectId), revealed: reveal };
}

/**
 * Replaces all vars. `build` lists the build-time ones; without it, the keys
 * that were build-time stay so (a client that doesn't know the flag keeps it).
 */
export async function put(ctx: AppContext, v: Caller, projectId: string, vars: Record<string, string>, build?: readonly string[]) {
  await getProject(ctx, v, projectId);
  const keys = Object.keys(vars);
  build ??= await listBuildKeys(ctx.sql, projectId);
  if (keys.length > MAX_VARS) throw new BadRequest(`vars: at most ${MAX_VARS} variables`);
  await replaceEnv(
    ctx.sql,
    projectId,
    keys.map((key) => ({ key, value_enc: encrypt(ctx.config.masterKey, "env", vars[key]!, aad(projectId, key)), build: build.includes(key) })),
  );
  // Names only: values are secrets.
  const buildKeys = keys.filter((k) => build.includes(k));
  await audit(ctx.sql, v, "env.write", { target_type: "project", target_id: projectId, detail: { env_keys: keys, build_keys: buildKeys } });
  return get(ctx, v, projectId, false);
}
