/**
 * Who is signed in, and the sign-in flow: password, then (when the account
 * has one) the second factor by TOTP code, recovery code or passkey; OIDC
 * buttons; passwordless passkeys. A 401 anywhere sends the person to
 * /signin?next=<where they were> and back there afterwards.
 */
import { computed, signal } from "@preact/signals";
import { api, ApiFailure, onUnauthorized, type Me, type Providers, type SignedIn } from "../api";
import type { SetupStatus } from "../shapes";
import { here, navigate, path, query } from "../router";
import { startLive, stopLive } from "./live";
import { errorText } from "./util";
import { getAssertion, webauthnSupported } from "../webauthn";

export const me = signal<Me | null>(null);
/** False until the first GET /v1/auth/me answered. */
export const ready = signal(false);
export const isAdmin = computed(() => me.value?.role === "admin");

export const providers = signal<Providers | null>(null);
export const setup = signal<SetupStatus | null>(null);

/** The sign-in form's state. */
export const step = signal<"credentials" | "second_factor">("credentials");
export const methods = signal<string[]>([]);
export const signInBusy = signal(false);
export const signInError = signal("");
/** Shown on the sign-in page after a lost session. */
export const notice = signal("");

const resets: (() => void)[] = [];
/** Models register what they forget when the person signs out. */
export const onSignOut = (fn: () => void) => void resets.push(fn);

const safeNext = (n: string | null) => (n && n.startsWith("/") && !n.startsWith("//") && !n.startsWith("/signin") ? n : "/projects");

async function sessionAlive(): Promise<boolean> {
  try {
    await api.me();
    return true;
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) {
      lostSession();
      return false;
    }
    return true; // the server is down, not our session: keep trying
  }
}

function forget() {
  clearTimeout(meTimer);
  stopLive();
  me.value = null;
  for (const fn of resets) fn();
}

/** The session ended under us (revoked, expired): to sign-in, and back here afterwards. */
export function lostSession() {
  if (!me.value) return;
  const back = here();
  forget();
  notice.value = "Your session ended. Sign in again to continue.";
  step.value = "credentials";
  navigate(`/signin?next=${encodeURIComponent(back)}`, { replace: true });
}

onUnauthorized(lostSession);

// Coming back to a tab (or window) re-checks the session at once, so one
// revoked elsewhere goes to sign-in without waiting for the next click.
// An event, not a polling loop.
let lastCheck = 0;
function recheck() {
  if (!me.value || document.visibilityState !== "visible" || Date.now() - lastCheck < 5000) return;
  lastCheck = Date.now();
  void sessionAlive();
}
if (typeof document !== "undefined") {
  document.addEventListener("visibilitychange", recheck);
  addEventListener("focus", recheck);
}

function signedIn(user: Me) {
  me.value = user;
  notice.value = "";
  signInError.value = "";
  step.value = "credentials";
  methods.value = [];
  startLive(sessionAlive);
}

/** First load: are we signed in? */
export async function boot() {
  try {
    signedIn(await api.me());
  } catch {
    me.value = null;
  }
  ready.value = true;
  if (!me.value) {
    // An OpenID sign-in that needs a second factor comes back to /?second_factor=1;
    // the server doesn't say which factors, so every kind is offered.
    if (query.value.get("second_factor") === "1") {
      methods.value = ["totp", "recovery_code", ...(webauthnSupported() ? ["passkey"] : [])];
      step.value = "second_factor";
      navigate("/signin", { replace: true });
    } else if (path.value !== "/signin" && path.value !== "/invite")
      navigate(path.value === "/" ? "/signin" : `/signin?next=${encodeURIComponent(here())}`, { replace: true });
  } else if (path.value === "/" || path.value === "/signin") navigate(safeNext(query.value.get("next")), { replace: true });
}

/** What the sign-in page needs: providers, and whether an admin exists yet. */
export async function loadSignInInfo() {
  const [p, s] = await Promise.allSettled([api.providers(), api.setupStatus()]);
  providers.value = p.status === "fulfilled" ? p.value : { password: true, oidc: [] };
  // An older server without /v1/setup-status: assume it is set up.
  setup.value = s.status === "fulfilled" ? s.value : { has_admin: true };
}

/** Data a page needs first, asked for as soon as the session exists (set by main.tsx). */
let prefetch: (path: string) => void = () => {};
export const onSignedIn = (fn: (path: string) => void) => void (prefetch = fn);

async function finish(r: SignedIn) {
  const role = r.user.role === "admin" ? "admin" : "member";
  const next = safeNext(query.value.get("next"));
  // Show the next page at once with what sign-in answered; /me fills in the rest a moment later.
  prefetch(next);
  signedIn({ id: r.user.id, email: r.user.email, role, via: "session", scope: "admin", session_id: null });
  navigate(next, { replace: true });
  clearTimeout(meTimer);
  meTimer = setTimeout(() => {
    if (me.value?.id === r.user.id) void api.me().then((m) => me.value?.id === m.id && (me.value = m)).catch(() => {});
  }, 1000);
}
let meTimer: ReturnType<typeof setTimeout> | undefined;

async function attempt(fn: () => Promise<void>) {
  signInBusy.value = true;
  signInError.value = "";
  try {
    await fn();
  } catch (e) {
    signInError.value = errorText(e);
  } finally {
    signInBusy.value = false;
  }
}

export const signIn = (email: string, password: string) =>
  attempt(async () => {
    const r = await api.login(email, password);
    if (r.status === "ok") return finish(r);
    methods.value = r.methods;
    step.value = "second_factor";
  });

export const secondFactor = (kind: "code" | "recovery_code", value: string) =>
  attempt(async () => {
    const v = value.trim();
    await finish(await api.loginSecondFactor(kind === "code" ? { code: v.replace(/\s+/g, "") } : { recovery_code: v }));
  });

export const passkeySecondFactor = () =>
  attempt(async () => {
    const response = await getAssertion(await api.passkeySecondFactorOptions());
    await finish(await api.passkeySecondFactorVerify(response));
  });

export const passkeySignIn = () =>
  attempt(async () => {
    const response = await getAssertion(await api.passkeyLoginOptions());
    await finish(await api.passkeyLoginVerify(response));
  });

export const canUsePasskeys = webauthnSupported;

export function backToCredentials() {
  step.value = "credentials";
  signInError.value = "";
}

export async function signOut() {
  try {
    await api.logout();
  } catch {}
  forget();
  notice.value = "";
  navigate("/signin", { replace: true });
}
