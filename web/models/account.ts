/** The signed-in person's own things: TOTP, passkeys, sessions and API tokens. */
import { signal } from "@preact/signals";
import { api, ApiFailure, type Passkey, type SessionView, type TokenCreated, type TokenInput, type TokenView } from "../api";
import { me, onSignOut } from "./session";
import { action, errorText, formErrors, submitForm } from "./util";
import { createCredential } from "../webauthn";

// TOTP -----------------------------------------------------------------
/** "unknown" until the server says (GET /v1/auth/me may not tell). */
export const totpOn = signal<boolean | "unknown">("unknown");
export const enrolUri = signal<string | null>(null);
export const recoveryCodes = signal<string[] | null>(null);
export const totpAction = action();

export function syncTotpFromMe() {
  const t = me.value?.totp_enabled;
  if (t !== undefined) totpOn.value = t;
}

export const startEnrol = () =>
  totpAction.run(async () => {
    try {
      enrolUri.value = (await api.totpEnroll()).otpauth_uri;
    } catch (e) {
      if (e instanceof ApiFailure && e.code === "totp_enabled") {
        totpOn.value = true;
        return;
      }
      throw e;
    }
  });

export const activate = (code: string) =>
  totpAction.run(async () => {
    recoveryCodes.value = (await api.totpActivate(code.replace(/\s+/g, ""))).recovery_codes;
    enrolUri.value = null;
    totpOn.value = true;
  });

export const cancelEnrol = () => {
  enrolUri.value = null;
  totpAction.error.value = "";
};

export const disableTotp = (kind: "code" | "recovery_code", value: string) =>
  totpAction.run(async () => {
    const v = value.trim();
    await api.totpDisable(kind === "code" ? { code: v.replace(/\s+/g, "") } : { recovery_code: v });
    totpOn.value = false;
    recoveryCodes.value = null;
  });

// Passkeys ---------------------------------------------------------------
export const passkeys = signal<Passkey[] | null>(null);
export const passkeyAction = action();

export async function loadPasskeys() {
  try {
    passkeys.value = (await api.passkeys()).passkeys;
  } catch (e) {
    passkeyAction.error.value = errorText(e);
  }
}

export const addPasskey = (name: string) =>
  passkeyAction.run(async () => {
    let response;
    try {
      response = await createCredential(await api.passkeyRegisterOptions());
    } catch (e) {
      if ((e as Error).name === "NotAllowedError") throw new Error("The passkey was not created (cancelled or timed out).");
      if ((e as Error).name === "InvalidStateError") throw new Error("This authenticator already holds a passkey for your account.");
      throw e;
    }
    await api.passkeyRegisterVerify(name.trim() || undefined, response);
    await loadPasskeys();
  });

export const removePasskey = (id: string) =>
  passkeyAction.run(async () => {
    await api.deletePasskey(id);
    passkeys.value = passkeys.value?.filter((p) => p.id !== id) ?? null;
  });

// Sessions ---------------------------------------------------------------
export const sessions = signal<SessionView[] | null>(null);
export const sessionAction = action();

export async function loadSessions() {
  try {
    sessions.value = (await api.sessions()).sessions;
  } catch (e) {
    sessionAction.error.value = errorText(e);
  }
}

export const revokeSession = (id: string) =>
  sessionAction.run(async () => {
    await api.revokeSession(id);
    sessions.value = sessions.value?.filter((s) => s.id !== id) ?? null;
  });

export const revokeOthers = () =>
  sessionAction.run(async () => {
    await api.revokeOtherSessions();
    await loadSessions();
  });

/** "Chrome on Linux" from a user agent string. */
export function browserName(ua: string | null): string {
  if (!ua) return "Unknown browser";
  if (/^curl\//i.test(ua)) return "curl";
  const b = /Edg\//.test(ua)
    ? "Edge"
    : /OPR\/|Opera/.test(ua)
      ? "Opera"
      : /Firefox\//.test(ua)
        ? "Firefox"
        : /HeadlessChrome|Chrome\/|Chromium\//.test(ua)
          ? "Chrome"
          : /Safari\//.test(ua)
            ? "Safari"
            : ua.split(/[\s/]/)[0] || "Unknown browser";
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad/.test(ua)
      ? "iOS"
      : /Mac OS X/.test(ua)
        ? "macOS"
        : /Windows/.test(ua)
          ? "Windows"
          : /Linux|X11/.test(ua)
            ? "Linux"
            : "";
  return os ? `${b} on ${os}` : b;
}

// Tokens -----------------------------------------------------------------
export const tokens = signal<TokenView[] | null>(null);
export const newToken = signal<TokenCreated | null>(null);
export const tokenForm = formErrors();
export const tokenAction = action();

export async function loadTokens() {
  try {
    tokens.value = (await api.tokens()).tokens;
  } catch (e) {
    tokenAction.error.value = errorText(e);
  }
}

export async function createToken(input: TokenInput) {
  const t = await submitForm(tokenForm, ["name", "scope", "expires_at"], () => api.createToken(input));
  if (t) {
    newToken.value = t;
    await loadTokens();
  }
  return t;
}

export const revokeToken = (id: string) =>
  tokenAction.run(async () => {
    await api.revokeToken(id);
    tokens.value = tokens.value?.filter((t) => t.id !== id) ?? null;
  });

onSignOut(() => {
  totpOn.value = "unknown";
  enrolUri.value = null;
  recoveryCodes.value = null;
  passkeys.value = sessions.value = tokens.value = null;
  newToken.value = null;
});
