/**
 * The agent's identity on disk: <state dir>/state.json with the worker id and
 * the api key the agent generated. Directory 0700, file 0600: the api key is
 * the worker's password and the root of every message MAC.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

export const agentState = z.object({
  /** Null between generating the key and the hub confirming registration. */
  worker_id: z.string().uuid().nullable(),
  api_key: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AgentState = z.infer<typeof agentState>;

export function statePath(dir: string): string {
  return join(dir, "state.json");
}

/** 32 random bytes as hex: the worker's api key. */
export function newApiKey(): string {
  return randomBytes(32).toString("hex");
}

/** Reads state.json; null when there is none yet. Throws with the path on a corrupt file. */
export async function loadState(dir: string): Promise<AgentState | null> {
  let text: string;
  try {
    text = await readFile(statePath(dir), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${statePath(dir)} is not valid JSON`);
  }
  const parsed = agentState.safeParse(json);
  if (!parsed.success) throw new Error(`${statePath(dir)} does not hold a worker_id and api_key`);
  return parsed.data;
}

/** Writes state.json atomically (temp file + rename) with mode 0600 in a 0700 directory. */
export async function saveState(dir: string, state: AgentState): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700); // mkdir's mode doesn't apply to an existing directory
  const tmp = `${statePath(dir)}.${process.pid}.tmp`;
  await unlink(tmp).catch(() => {});
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(JSON.stringify(state, null, 2) + "\n");
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, statePath(dir));
}
