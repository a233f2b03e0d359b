/** Sign-in: first run notice, password, OIDC buttons, passkeys, then the second factor. */
import { useEffect, useState } from "preact/hooks";
import {
  backToCredentials,
  canUsePasskeys,
  loadSignInInfo,
  methods,
  notice,
  passkeySecondFactor,
  passkeySignIn,
  providers,
  secondFactor,
  setup,
  signIn,
  signInBusy,
  signInError,
  step,
} from "../models/session";
import { Alert, Button, Field, useTitle } from "../components/ui";
import { api } from "../api";

function FirstRun() {
  return (
    <section class="card first-run" aria-labelledby="first-run-h">
      <h2 id="first-run-h">Welcome — create the first admin</h2>
      <p>No administrator exists yet. On the machine running the control plane, run:</p>
      <pre class="cmd">
        <code>wisehosting admin create --email you@example.com</code>
      </pre>
      <p class="hint">
        It prints a generated password (or pass <code>--password</code>). Then sign in here with that email and password.
      </p>
    </section>
  );
}

function Credentials() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const p = providers.value;
  return (
    <>
      {p?.password !== false && (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void signIn(email, password);
          }}
        >
          <Field id="email" label="Email" type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          <Field
            id="password"
            label="Password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          <Alert>{signInError.value}</Alert>
          <Button type="submit" kind="primary" busy={signInBusy.value} busyLabel="Signing in…">
            Sign in
          </Button>
        </form>
      )}
      {p?.password === false && <Alert>{signInError.value}</Alert>}
      {(p?.oidc.length || canUsePasskeys()) && (
        <div class="stack alt-signin">
          {p?.password !== false && <p class="or">or</p>}
          {p?.oidc.map((o) => (
            <a key={o.id} class="btn plain block" href={`/v1/auth/oidc/${encodeURIComponent(o.id)}/start`} data-native>
              Sign in with {o.name}
            </a>
          ))}
          {canUsePasskeys() && (
            <Button class="block" onClick={passkeySignIn} busy={signInBusy.value} busyLabel="Waiting for your passkey…">
              Sign in with a passkey
            </Button>
          )}
        </div>
      )}
    </>
  );
}

function SecondFactor() {
  const has = (m: string) => methods.value.includes(m);
  const [kind, setKind] = useState<"code" | "recovery_code">(has("totp") ? "code" : "recovery_code");
  const [value, setValue] = useState("");
  return (
    <div class="stack">
      <h2>Two-factor sign-in</h2>
      {(has("totp") || has("recovery_code")) && (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void secondFactor(kind, value);
          }}
        >
          {kind === "code" ? (
            <Field
              key="code"
              id="totp-code"
              label="Code from your authenticator app"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9 ]{6,7}"
              maxLength={7}
              required
              autoFocus
              value={value}
              onInput={(e) => setValue(e.currentTarget.value)}
            />
          ) : (
            <Field
              key="recovery"
              id="recovery-code"
              label="Recovery code"
              autoComplete="off"
              hint="One of the codes you saved when you turned on two-factor sign-in (xxxx-xxxx-xxxx). Each works once."
              required
              autoFocus
              value={value}
              onInput={(e) => setValue(e.currentTarget.value)}
            />
          )}
          <Alert>{signInError.value}</Alert>
          <Button type="submit" kind="primary" busy={signInBusy.value} busyLabel="Checking…">
            Verify
          </Button>
          {has("recovery_code") && (
            <button
              type="button"
              class="linkish"
              onClick={() => {
                setKind(kind === "code" ? "recovery_code" : "code");
                setValue("");
              }}
            >
              {kind === "code" ? "Use a recovery code instead" : "Use a code from your app instead"}
            </button>
          )}
        </form>
      )}
      {has("passkey") && (
        <>
          {!has("totp") && <Alert>{signInError.value}</Alert>}
          <Button onClick={passkeySecondFactor} busy={signInBusy.value} busyLabel="Waiting for your passkey…">
            Use a passkey
          </Button>
        </>
      )}
      <button type="button" class="linkish" onClick={backToCredentials}>
        Start over
      </button>
    </div>
  );
}

export function SignInPage() {
  useTitle(step.value === "second_factor" ? "Two-factor sign-in" : "Sign in");
  useEffect(() => {
    void loadSignInInfo();
  }, []);
  return (
    <main id="main" class="signin">
      <h1 class="brand-big">WiseHosting</h1>
      {setup.value?.has_admin === false && <FirstRun />}
      <section class="card" aria-label="Sign in">
        <Alert kind="info">{step.value === "credentials" ? notice.value : ""}</Alert>
        {step.value === "credentials" ? <Credentials /> : <SecondFactor />}
      </section>
    </main>
  );
}

/** /invite#<token>: an invited person sets their password. */
export function InvitePage() {
  useTitle("Accept invitation");
  const token = location.hash.slice(1);
  const [password, setPassword] = useState("");
  const [state, setState] = useState<{ busy: boolean; error: string; done: boolean }>({ busy: false, error: "", done: false });
  return (
    <main id="main" class="signin">
      <h1 class="brand-big">WiseHosting</h1>
      <section class="card" aria-labelledby="invite-h">
        <h2 id="invite-h">Set your password</h2>
        {state.done ? (
          <p>
            Your password is set. <a href="/signin">Sign in</a>
          </p>
        ) : (
          <form
            class="stack"
            onSubmit={async (e) => {
              e.preventDefault();
              setState({ busy: true, error: "", done: false });
              try {
                await api.acceptInvite(token, password);
                setState({ busy: false, error: "", done: true });
              } catch (err) {
                setState({ busy: false, error: (err as Error).message, done: false });
              }
            }}
          >
            <Field
              id="new-password"
              label="New password"
              type="password"
              autoComplete="new-password"
              minLength={12}
              required
              hint="At least 12 characters."
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
            <Alert>{!token ? "This link has no invitation in it: open the whole link you were sent." : state.error}</Alert>
            <Button type="submit" kind="primary" busy={state.busy} busyLabel="Saving…" disabled={!token}>
              Set password
            </Button>
          </form>
        )}
      </section>
    </main>
  );
}
