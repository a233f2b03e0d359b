/**
 * Passkey shapes: the request bodies (the browser's PublicKeyCredential
 * toJSON(), bounded) and what the API shows of a stored passkey — never its
 * public key or credential id.
 */
import { z } from "zod";

const b64url = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, "must be base64url");

/** A credential id is at most 1023 bytes: 1364 base64url characters. */
const credentialId = b64url(1400);

const common = {
  id: credentialId,
  rawId: credentialId,
  type: z.literal("public-key"),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
};

/** What navigator.credentials.create() gave, as JSON. */
export const registrationResponse = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64url(8192),
    attestationObject: b64url(65536),
    transports: z.array(z.string().max(32)).max(16).optional(),
  }),
});

/** What navigator.credentials.get() gave, as JSON. */
export const authenticationResponse = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64url(8192),
    authenticatorData: b64url(8192),
    signature: b64url(8192), // ML-DSA-87 signatures are 4627 bytes
    userHandle: z.string().max(256).regex(/^[A-Za-z0-9_-]*$/, "must be base64url").nullish(),
  }),
});

export const passkeyName = z.string().trim().min(1, "must not be empty").max(64);

export const registerBody = z.object({ name: passkeyName.optional(), response: registrationResponse });
export const authenticateBody = z.object({ response: authenticationResponse });
export const renameBody = z.object({ name: passkeyName });
export const passkeyIdParam = z.object({ id: z.string().uuid("must be a UUID") });

export const passkey = z.object({
  id: z.string(),
  name: z.string(),
  transports: z.array(z.string()),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
});

export type RegistrationResponseBody = z.infer<typeof registrationResponse>;
export type AuthenticationResponseBody = z.infer<typeof authenticationResponse>;
export type Passkey = z.infer<typeof passkey>;
