/**
 * Secrets at rest: AES-256-GCM under keys derived from the master key with
 * HKDF-SHA256, one key per purpose ("env", "totp", …). Every ciphertext starts
 * with a key id so a later master-key rotation can tell old from new.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, createHash } from "node:crypto";

export type Purpose = "env" | "worker-jwt" | "totp" | "git-token" | "webhook-secret" | "webhook";

const VERSION = "v1";

/** A short, stable id of the master key (first 8 hex chars of its sha256). */
export function keyId(masterKey: Buffer): string {
  return createHash("sha256").update(masterKey).digest("hex").slice(0, 8);
}

export function deriveKey(masterKey: Buffer, purpose: Purpose): Buffer {
  return Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), `wisehosting:${purpose}`, 32));
}

/** Encrypts to "v1.<keyid>.<base64 iv|tag|ciphertext>"; `aad` binds it to its row. */
export function encrypt(masterKey: Buffer, purpose: Purpose, plaintext: string, aad = ""): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", deriveKey(masterKey, purpose), iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return `${VERSION}.${keyId(masterKey)}.${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString("base64")}`;
}

export function decrypt(masterKey: Buffer, purpose: Purpose, sealed: string, aad = ""): string {
  const [version, kid, data] = sealed.split(".");
  if (version !== VERSION || !data) throw new Error("unknown ciphertext format");
  if (kid !== keyId(masterKey)) throw new Error(`ciphertext was made with key ${kid}, not the current master key`);
  const raw = Buffer.from(data, "base64");
  const decipher = createDecipheriv("aes-256-gcm", deriveKey(masterKey, purpose), raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}
