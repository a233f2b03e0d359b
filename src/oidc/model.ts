/** OpenID Connect shapes: route inputs, what providers answer (validated, never trusted), and our outputs. */
import { z } from "zod";

/** The providers this server knows: the Google preset and one generic OpenID provider. */
export const providerIds = ["google", "oidc"] as const;
export type ProviderId = (typeof providerIds)[number];

/** Any short lowercase name; an unknown or unconfigured one is answered 404 by the service. */
export const providerParam = z.object({ provider: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, "must be a provider id like google or oidc") });

export const startQuery = z.object({ link: z.enum(["true", "false", "1", "0"]).optional() });

/**
 * What the provider sends the browser back with. Providers add their own
 * parameters (Google: scope, authuser, prompt, hd), so unknown keys are dropped,
 * not refused. Lengths are bounded; nothing here is trusted.
 */
export const callbackQuery = z.object({
  code: z.string().min(1).max(4096).optional(),
  state: z.string().min(1).max(512).optional(),
  iss: z.string().max(2048).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});
export type CallbackQuery = z.infer<typeof callbackQuery>;

const httpUrl = z.url({ protocol: /^https?$/ });

/** The fields of a discovery document we use (OpenID Connect Discovery 1.0 §3). */
export const discoveryDocument = z.object({
  issuer: z.string().min(1),
  authorization_endpoint: httpUrl,
  token_endpoint: httpUrl,
  jwks_uri: httpUrl,
  userinfo_endpoint: httpUrl.optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
  authorization_response_iss_parameter_supported: z.boolean().optional(),
});
export type DiscoveryDocument = z.infer<typeof discoveryDocument>;

/** A successful token response (RFC 6749 §5.1 + OpenID Connect Core §3.1.3.3). */
export const tokenResponse = z.object({
  id_token: z.string().min(1).max(16384),
  access_token: z.string().min(1).max(16384).optional(),
  token_type: z.string().optional(),
});

export const tokenError = z.object({ error: z.string().max(256), error_description: z.string().max(2048).optional() });

/** Some providers send email_verified as the string "true". */
const verifiedFlag = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]).optional();

/** The claims we read from the verified id_token (and from userinfo when the id_token leaves them out). */
export const identityClaims = z.object({
  sub: z.string().min(1).max(255),
  email: z.string().max(254).optional(),
  email_verified: verifiedFlag,
  name: z.string().max(200).optional(),
});
export type IdentityClaims = z.infer<typeof identityClaims>;

export const identity = z.object({
  provider: z.string(),
  name: z.string(),
  subject: z.string(),
  email: z.string().nullable(),
  created_at: z.string(),
});
export type Identity = z.infer<typeof identity>;

export const identityList = z.object({ identities: z.array(identity) });
