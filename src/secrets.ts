/**
 * Secrets the operator did not set are generated on first start and kept in
 * WH_DATA_DIR (files of mode 0600), so every later start uses the same ones.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Config, RawConfig } from "./config";

function readOrCreate(dir: string, file: string, make: () => string): { value: string; created: boolean } {
  const path = join(dir, file);
  if (existsSync(path)) return { value: readFileSync(path, "utf8").trim(), created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path, make() + "\n", { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return { value: readFileSync(path, "utf8").trim(), created: true };
}

/** Fills in the master key and worker secret; `workerSecretCreated` is true only on the start that made it. */
export function resolveSecrets(raw: RawConfig): { config: Config; workerSecretCreated: boolean } {
  const master = raw.WH_MASTER_KEY
    ? { value: raw.WH_MASTER_KEY, created: false }
    : readOrCreate(raw.WH_DATA_DIR, "master.key", () => randomBytes(32).toString("hex"));
  if (!/^[0-9a-fA-F]{64}$/.test(master.value)) throw new Error(`${join(raw.WH_DATA_DIR, "master.key")}: must hold 64 hex characters`);
  const worker = raw.WH_WORKER_SECRET
    ? { value: raw.WH_WORKER_SECRET, created: false }
    : readOrCreate(raw.WH_DATA_DIR, "worker.secret", () => randomBytes(24).toString("base64url"));
  return {
    config: {
      ...raw,
      publicUrl: (raw.WH_PUBLIC_URL ?? `http://${raw.WH_LISTEN}`).replace(/\/$/, ""),
      masterKey: Buffer.from(master.value, "hex"),
      workerSecret: worker.value,
    },
    workerSecretCreated: worker.created,
  };
}
