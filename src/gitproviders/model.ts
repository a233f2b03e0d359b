/** Shapes of the git-provider feature: routes, provider answers, and what we keep. */
import { z } from "zod";
import { repoFullName } from "../protocol/api";
export { deployTarget, projectGitInput, repoFullName, type DeployTarget, type ProjectGitInput } from "../protocol/api";

export const PROVIDER_IDS = ["github", "gitlab", "bitbucket", "codeberg", "forgejo"] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];
export type ProviderKind = "github" | "gitlab" | "bitbucket" | "gitea";
/** How webhook URLs name a provider's payload format (Codeberg and Forgejo send Gitea's). */
export const HOOK_KINDS = ["github", "gitlab", "bitbucket", "gitea", "forgejo", "codeberg"] as const;

export const providerParam = z.object({ provider: z.enum(PROVIDER_IDS) });
export const idParam = z.object({ id: z.string().uuid("must be a UUID") });

export const repoParam = z.object({ id: z.string().uuid("must be a UUID"), repo: repoFullName });
export const reposQuery = z.object({ query: z.string().max(100).regex(/^[\w.\- /]*$/, "letters, digits, '.', '-', '_', '/' and spaces").optional() });

export const callbackQuery = z.object({
  code: z.string().max(2048).optional(),
  state: z.string().max(256).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});
export type CallbackQuery = z.infer<typeof callbackQuery>;

/** A token endpoint's answer (RFC 6749 §5.1); `expires_in` is absent where tokens don't expire. */
export const tokenSet = z.object({
  access_token: z.string().min(1).max(8192),
  token_type: z.string().optional(),
  refresh_token: z.string().min(1).max(8192).optional(),
  expires_in: z.coerce.number().positive().optional(),
  scope: z.string().max(2048).optional(),
  scopes: z.string().max(2048).optional(), // Bitbucket's spelling
});
export type TokenSet = z.infer<typeof tokenSet>;

export const repoShape = z.object({
  full_name: repoFullName,
  private: z.boolean(),
  clone_url: z.string().url(),
  default_branch: z.string().nullable(),
  html_url: z.string().nullable(),
});
export type Repo = z.infer<typeof repoShape>;

export const branchShape = z.object({ name: z.string().min(1).max(255), sha: z.string().nullable() });
export const branchList = z.array(branchShape);
export type Branch = z.infer<typeof branchShape>;

export const gitProvider = z.object({ id: z.enum(PROVIDER_IDS), kind: z.enum(["github", "gitlab", "bitbucket", "gitea"]), name: z.string(), url: z.string() });

export const gitLink = z.object({
  id: z.string(),
  provider: z.enum(PROVIDER_IDS),
  provider_name: z.string(),
  account_login: z.string(),
  /** revoked: the provider refused its token (or the refresh); link the account again. */
  status: z.enum(["active", "revoked"]),
  revoked_reason: z.string().nullable(),
  /** The provider this link belongs to is no longer configured on this server. */
  provider_configured: z.boolean(),
  expires_at: z.string().nullable(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
});
export type GitLink = z.infer<typeof gitLink>;

export const projectGitPatch = z
  .object({
    auto_deploy: z.boolean().optional(),
    previews: z.boolean().optional(),
    /** Link the project to a repository of a linked account (creates the webhook), or null to unlink. */
    link: z.object({ link_id: z.string().uuid("must be a UUID"), repo: repoFullName }).strict().nullable().optional(),
  })
  .strict();
export type ProjectGitPatch = z.infer<typeof projectGitPatch>;

export const projectGit = z.object({
  project_id: z.string(),
  link: z
    .object({ id: z.string().nullable(), provider: z.string(), account_login: z.string(), status: z.enum(["active", "revoked"]), repo: z.string() })
    .nullable(),
  auto_deploy: z.boolean(),
  previews: z.boolean(),
  /** Set on a preview project: the project and pull/merge request it previews. */
  preview_of: z.object({ project_id: z.string(), pr_number: z.number() }).nullable(),
  /** The webhook at the provider, when we created it; `error` says why creating it failed. */
  webhook: z.object({ managed: z.boolean(), provider_hook_id: z.string().nullable(), error: z.string().nullable() }),
  /** Where to point a webhook by hand, per payload format (the secret is at …/git/webhook-secret). */
  webhook_urls: z.record(z.string(), z.string()),
});
export type ProjectGit = z.infer<typeof projectGit>;

export const webhookSecret = z.object({ secret: z.string(), webhook_urls: z.record(z.string(), z.string()) });

export const hookParams = z.object({ provider: z.enum(HOOK_KINDS), hook_id: z.string().max(64) });
