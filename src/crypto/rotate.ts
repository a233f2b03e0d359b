/**
 * `wisehosting keys rotate`: re-encrypts every secret at rest (env values,
 * TOTP secrets, git tokens, webhook and channel secrets) from the current master key to a new one in one transaction.
 * Ciphertexts name their key id, so a row already under the new key is skipped
 * and a half-done rotation can't happen (it commits whole or not at all).
 */
import type { Sql } from "postgres";
import { decrypt, encrypt, keyId } from "./index";
import { rotateGitSecrets } from "../gitproviders/rotate";
import { resealChannelSecrets } from "../notifications/queries";

export async function rotateMasterKey(sql: Sql, oldKey: Buffer, newKey: Buffer) {
  const newId = keyId(newKey);
  return sql.begin(async (tx) => {
    let env = 0;
    let totp = 0;
    const envRows = await tx<{ project_id: string; key: string; value_enc: string }[]>`
      SELECT project_id, key, value_enc FROM env_vars FOR UPDATE`;
    for (const r of envRows) {
      if (r.value_enc.split(".")[1] === newId) continue;
      const aad = `${r.project_id}:${r.key}`;
      const sealed = encrypt(newKey, "env", decrypt(oldKey, "env", r.value_enc, aad), aad);
      await tx`UPDATE env_vars SET value_enc = ${sealed} WHERE project_id = ${r.project_id} AND key = ${r.key}`;
      env++;
    }
    const totpRows = await tx<{ id: string; totp_secret_enc: string }[]>`
      SELECT id, totp_secret_enc FROM users WHERE totp_secret_enc IS NOT NULL FOR UPDATE`;
    for (const r of totpRows) {
      if (r.totp_secret_enc.split(".")[1] === newId) continue;
      const sealed = encrypt(newKey, "totp", decrypt(oldKey, "totp", r.totp_secret_enc, r.id), r.id);
      await tx`UPDATE users SET totp_secret_enc = ${sealed} WHERE id = ${r.id}`;
      totp++;
    }
    const git = await rotateGitSecrets(tx, oldKey, newKey);
    const channels = await resealChannelSecrets(tx, (sealed, aad) =>
      sealed.split(".")[1] === newId ? null : encrypt(newKey, "webhook", decrypt(oldKey, "webhook", sealed, aad), aad),
    );
    return { env, totp, git_tokens: git.git_tokens, webhook_secrets: git.webhook_secrets, channel_secrets: channels };
  });
}
