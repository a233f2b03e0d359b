/**
 * `wisehosting keys rotate` for this feature's secrets: linked accounts'
 * access and refresh tokens (purpose "git-token") and projects' webhook
 * secrets (purpose "webhook-secret"), re-encrypted under the new master key
 * inside the caller's transaction. Rows already under the new key are skipped.
 */
import type { TransactionSql } from "postgres";
import { decrypt, encrypt, keyId } from "../crypto";

export async function rotateGitSecrets(tx: TransactionSql, oldKey: Buffer, newKey: Buffer): Promise<{ git_tokens: number; webhook_secrets: number }> {
  const newId = keyId(newKey);
  const fresh = (sealed: string) => sealed.split(".")[1] === newId;
  let gitTokens = 0;
  let webhookSecrets = 0;
  const links = await tx<{ id: string; user_id: string; provider: string; account_id: string; access_token_enc: string; refresh_token_enc: string | null }[]>`
    SELECT id, user_id, provider, account_id, access_token_enc, refresh_token_enc FROM git_links FOR UPDATE`;
  for (const l of links) {
    const aad = (which: string) => `git-link:${l.user_id}:${l.provider}:${l.account_id}:${which}`;
    const again = (sealed: string, which: string) => encrypt(newKey, "git-token", decrypt(oldKey, "git-token", sealed, aad(which)), aad(which));
    const access = fresh(l.access_token_enc) ? l.access_token_enc : again(l.access_token_enc, "access");
    const refresh = l.refresh_token_enc === null || fresh(l.refresh_token_enc) ? l.refresh_token_enc : again(l.refresh_token_enc, "refresh");
    if (access === l.access_token_enc && refresh === l.refresh_token_enc) continue;
    await tx`UPDATE git_links SET access_token_enc = ${access}, refresh_token_enc = ${refresh} WHERE id = ${l.id}`;
    gitTokens++;
  }
  const hooks = await tx<{ project_id: string; hook_id: string; secret_enc: string }[]>`SELECT project_id, hook_id, secret_enc FROM project_git FOR UPDATE`;
  for (const h of hooks) {
    if (fresh(h.secret_enc)) continue;
    const sealed = encrypt(newKey, "webhook-secret", decrypt(oldKey, "webhook-secret", h.secret_enc, h.hook_id), h.hook_id);
    await tx`UPDATE project_git SET secret_enc = ${sealed} WHERE project_id = ${h.project_id}`;
    webhookSecrets++;
  }
  return { git_tokens: gitTokens, webhook_secrets: webhookSecrets };
}
