/**
 * Passkeys in the browser: the server's options are WebAuthn JSON (binary
 * fields base64url); navigator.credentials wants ArrayBuffers, and the server
 * wants the credential back as JSON. These convert both ways.
 */
type Json = Record<string, unknown>;

export const webauthnSupported = () => typeof window !== "undefined" && "PublicKeyCredential" in window && !!navigator.credentials;

const fromB64u = (s: string): ArrayBuffer => {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
};

const toB64u = (buf: ArrayBuffer): string => {
  let s = "";
  for (const x of new Uint8Array(buf)) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

const withIds = (list: unknown) => ((list as Json[] | undefined) ?? []).map((c) => ({ ...c, id: fromB64u(c.id as string) }));

const common = (cred: PublicKeyCredential) => ({
  id: cred.id,
  rawId: toB64u(cred.rawId),
  type: cred.type,
  authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
  clientExtensionResults: cred.getClientExtensionResults(),
});

/** navigator.credentials.create() with the server's registration options; the credential as JSON. */
export async function createCredential(options: unknown): Promise<Json> {
  const o = options as Json & { user: Json };
  const publicKey = {
    ...o,
    challenge: fromB64u(o.challenge as string),
    user: { ...o.user, id: fromB64u(o.user.id as string) },
    excludeCredentials: withIds(o.excludeCredentials),
  } as unknown as PublicKeyCredentialCreationOptions;
  const cred = (await navigator.credentials.create({ publicKey })) as PublicKeyCredential | null;
  if (!cred) throw new Error("No passkey was created.");
  const r = cred.response as AuthenticatorAttestationResponse;
  return {
    ...common(cred),
    response: { clientDataJSON: toB64u(r.clientDataJSON), attestationObject: toB64u(r.attestationObject), transports: r.getTransports?.() ?? [] },
  };
}

/** navigator.credentials.get() with the server's sign-in options; the assertion as JSON. */
export async function getAssertion(options: unknown): Promise<Json> {
  if (!webauthnSupported()) throw new Error("This browser can't use passkeys.");
  const o = options as Json;
  const publicKey = { ...o, challenge: fromB64u(o.challenge as string), allowCredentials: withIds(o.allowCredentials) } as unknown as PublicKeyCredentialRequestOptions;
  let cred: PublicKeyCredential | null;
  try {
    cred = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential | null;
  } catch (e) {
    if ((e as Error).name === "NotAllowedError") throw new Error("The passkey request was cancelled or timed out.");
    throw e;
  }
  if (!cred) throw new Error("No passkey was chosen.");
  const r = cred.response as AuthenticatorAssertionResponse;
  return {
    ...common(cred),
    response: {
      clientDataJSON: toB64u(r.clientDataJSON),
      authenticatorData: toB64u(r.authenticatorData),
      signature: toB64u(r.signature),
      userHandle: r.userHandle ? toB64u(r.userHandle) : undefined,
    },
  };
}
