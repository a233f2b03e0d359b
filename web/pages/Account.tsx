/** Account: profile, two-factor (TOTP with a QR code, recovery codes once), passkeys, sessions, API tokens. */
import { useEffect, useState } from "preact/hooks";
import { GitLinks } from "../components/GitLinks";
import { QrCode } from "../components/QrCode";
import { Alert, Button, CopyButton, Field, Loading, Section, Select, Time, useTitle } from "../components/ui";
import * as acct from "../models/account";
import { me } from "../models/session";
import { webauthnSupported } from "../webauthn";

function secretOf(uri: string): string {
  try {
    return new URL(uri).searchParams.get("secret") ?? "";
  } catch {
    return "";
  }
}

function Totp() {
  const [code, setCode] = useState("");
  const [offKind, setOffKind] = useState<"code" | "recovery_code">("code");
  const on = acct.totpOn.value;
  const uri = acct.enrolUri.value;
  const codes = acct.recoveryCodes.value;
  const act = acct.totpAction;
  if (codes)
    return (
      <div class="stack">
        <Alert kind="ok">Two-factor sign-in is on.</Alert>
        <p>
          <strong>Save these recovery codes now — they are shown only once.</strong> Each signs you in once if you lose your authenticator.
        </p>
        <ul class="codes" aria-label="Recovery codes">
          {codes.map((c) => (
            <li key={c} class="mono">
              {c}
            </li>
          ))}
        </ul>
        <div class="row">
          <CopyButton text={codes.join("\n")} label="Copy codes" />
          <Button onClick={() => (acct.recoveryCodes.value = null)}>I saved them</Button>
        </div>
      </div>
    );
  if (uri) {
    const secret = secretOf(uri);
    return (
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void acct.activate(code).then(() => setCode(""));
        }}
      >
        <p>Scan this code with your authenticator app, then enter the 6-digit code it shows.</p>
        <QrCode text={uri} label="QR code for your authenticator app" />
        <p class="hint">
          Can't scan? Enter this key by hand: <code class="mono secret" data-testid="totp-secret">{secret.replace(/(.{4})/g, "$1 ").trim()}</code>
        </p>
        <Field id="totp-activate" label="Code from the app" inputMode="numeric" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        <Alert>{act.error.value}</Alert>
        <div class="row">
          <Button type="submit" kind="primary" busy={act.busy.value} busyLabel="Checking…">
            Turn on
          </Button>
          <Button onClick={acct.cancelEnrol}>Cancel</Button>
        </div>
      </form>
    );
  }
  if (on === true)
    return (
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void acct.disableTotp(offKind, code).then(() => setCode(""));
        }}
      >
        <p>
          Two-factor sign-in is <strong>on</strong>. To turn it off, confirm with a current code or a recovery code.
        </p>
        <Select
          id="totp-off-kind"
          label="Confirm with"
          value={offKind}
          options={[
            ["code", "A code from the app"],
            ["recovery_code", "A recovery code"],
          ]}
          onChange={(e) => setOffKind(e.currentTarget.value === "recovery_code" ? "recovery_code" : "code")}
        />
        <Field id="totp-off" label={offKind === "code" ? "Code" : "Recovery code"} autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
        <Alert>{act.error.value}</Alert>
        <div class="row">
          <Button type="submit" kind="danger" busy={act.busy.value} busyLabel="Turning off…">
            Turn off two-factor sign-in
          </Button>
        </div>
      </form>
    );
  return (
    <div class="stack">
      <p>
        {on === false ? "Two-factor sign-in is off." : ""} Add a code from an authenticator app (TOTP) to every sign-in.
      </p>
      <Alert>{act.error.value}</Alert>
      <div class="row">
        <Button kind="primary" busy={act.busy.value} busyLabel="Starting…" onClick={acct.startEnrol}>
          Set up two-factor sign-in
        </Button>
      </div>
    </div>
  );
}

function Passkeys() {
  const [name, setName] = useState("");
  const list = acct.passkeys.value;
  const act = acct.passkeyAction;
  return (
    <div class="stack">
      {!list ? (
        <Loading what="passkeys" />
      ) : list.length === 0 ? (
        <p class="muted">No passkeys yet.</p>
      ) : (
        <ul class="list">
          {list.map((p) => (
            <li key={p.id} class="list-row">
              <div>
                <span class="strong">{p.name}</span>
                <span class="muted small">
                  {" "}
                  · added <Time iso={p.created_at} /> · last used {p.last_used_at ? <Time iso={p.last_used_at} /> : "never"}
                </span>
              </div>
              <Button class="small" kind="danger" onClick={() => acct.removePasskey(p.id)} aria-label={`Delete passkey ${p.name}`}>
                Delete
              </Button>
            </li>
          ))}
        </ul>
      )}
      {webauthnSupported() ? (
        <form
          class="row end"
          onSubmit={(e) => {
            e.preventDefault();
            void acct.addPasskey(name).then(() => setName(""));
          }}
        >
          <Field id="passkey-name" label="Name for a new passkey" placeholder="e.g. Laptop" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          <Button type="submit" busy={act.busy.value} busyLabel="Waiting for your device…">
            Add a passkey
          </Button>
        </form>
      ) : (
        <p class="muted">This browser can't create passkeys.</p>
      )}
      <Alert>{act.error.value}</Alert>
    </div>
  );
}

function Sessions() {
  const list = acct.sessions.value;
  const act = acct.sessionAction;
  return (
    <div class="stack">
      {!list ? (
        <Loading what="sessions" />
      ) : (
        <table class="table responsive" aria-label="Active sessions">
          <thead>
            <tr>
              <th scope="col">Browser</th>
              <th scope="col">IP</th>
              <th scope="col">Last seen</th>
              <th scope="col">Signed in</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.id} data-session={s.id}>
                <td data-label="Browser">
                  <span title={s.user_agent ?? ""}>{acct.browserName(s.user_agent)}</span>
                  {s.current && <span class="tag">this browser</span>}
                </td>
                <td data-label="IP" class="mono">
                  {s.ip ?? "—"}
                </td>
                <td data-label="Last seen">
                  <Time iso={s.last_seen_at} />
                </td>
                <td data-label="Signed in">
                  <Time iso={s.created_at} />
                </td>
                <td class="row-actions">
                  {!s.current && (
                    <Button class="small" kind="danger" onClick={() => acct.revokeSession(s.id)} aria-label={`Revoke session ${acct.browserName(s.user_agent)} from ${s.ip ?? "unknown IP"}`}>
                      Revoke
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="row">
        <Button kind="danger" busy={act.busy.value} busyLabel="Signing out others…" onClick={acct.revokeOthers} disabled={!list || list.filter((s) => !s.current).length === 0}>
          Sign out all other sessions
        </Button>
      </div>
      <Alert>{act.error.value}</Alert>
    </div>
  );
}

function Tokens() {
  const [f, setF] = useState({ name: "", scope: "write", expires: "" });
  const list = acct.tokens.value;
  const shown = acct.newToken.value;
  const err = acct.tokenForm.fields.value;
  return (
    <div class="stack">
      {shown && (
        <div class="alert ok" role="status">
          <p>
            Token <strong>{shown.name}</strong> created. <strong>Copy it now: it won't be shown again.</strong>
          </p>
          <div class="secret-row">
            <code class="secret" data-testid="new-token">
              {shown.token}
            </code>
            <CopyButton text={shown.token} />
          </div>
          <Button class="small" onClick={() => (acct.newToken.value = null)}>
            Done
          </Button>
        </div>
      )}
      {!list ? (
        <Loading what="tokens" />
      ) : list.length === 0 ? (
        <p class="muted">No API tokens.</p>
      ) : (
        <table class="table responsive" aria-label="API tokens">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scope</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((t) => (
              <tr key={t.id}>
                <td data-label="Name" class="strong">
                  {t.name}
                </td>
                <td data-label="Scope">{t.scope}</td>
                <td data-label="Last used">{t.last_used_at ? <Time iso={t.last_used_at} /> : <span class="muted">never</span>}</td>
                <td data-label="Expires">{t.expires_at ? <Time iso={t.expires_at} /> : <span class="muted">never</span>}</td>
                <td class="row-actions">
                  <Button class="small" kind="danger" onClick={() => acct.revokeToken(t.id)} aria-label={`Revoke token ${t.name}`}>
                    Revoke
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Alert>{acct.tokenAction.error.value}</Alert>
      <form
        class="grid-form"
        aria-label="Create an API token"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          const t = await acct.createToken({
            name: f.name.trim(),
            scope: f.scope === "read" ? "read" : f.scope === "admin" ? "admin" : "write",
            ...(f.expires ? { expires_at: new Date(f.expires + "T23:59:59").toISOString() } : {}),
          });
          if (t) setF({ name: "", scope: "write", expires: "" });
        }}
      >
        <Field id="t-name" label="Token name" value={f.name} onInput={(e) => setF({ ...f, name: e.currentTarget.value })} error={err.name} placeholder="e.g. ci" />
        <Select
          id="t-scope"
          label="Scope"
          value={f.scope}
          options={[
            ["read", "read — look only"],
            ["write", "write — deploy and change"],
            ...(me.value?.role === "admin" ? ([["admin", "admin — everything"]] as [string, string][]) : []),
          ]}
          onChange={(e) => setF({ ...f, scope: e.currentTarget.value })}
          error={err.scope}
        />
        <Field id="t-expires" label="Expires (optional)" type="date" value={f.expires} onInput={(e) => setF({ ...f, expires: e.currentTarget.value })} error={err.expires_at} />
        <div class="row end">
          <Button type="submit" kind="primary" busy={acct.tokenForm.busy.value} busyLabel="Creating…">
            Create token
          </Button>
        </div>
        <div class="span-all">
          <Alert>{acct.tokenForm.form.value}</Alert>
        </div>
      </form>
    </div>
  );
}

export function AccountPage() {
  useTitle("Account");
  useEffect(() => {
    acct.syncTotpFromMe();
    void acct.loadSessions();
    void acct.loadTokens();
    void acct.loadPasskeys();
  }, []);
  useEffect(() => acct.syncTotpFromMe(), [me.value?.totp_enabled]);
  const m = me.value;
  return (
    <>
      <div class="page-head">
        <h1>Account</h1>
      </div>
      <Section title="Profile" id="profile">
        <dl class="facts">
          <div>
            <dt>Email</dt>
            <dd>{m?.email}</dd>
          </div>
          {m?.display_name && (
            <div>
              <dt>Name</dt>
              <dd>{m.display_name}</dd>
            </div>
          )}
          <div>
            <dt>Role</dt>
            <dd>{m?.role}</dd>
          </div>
        </dl>
      </Section>
      <Section title="Two-factor sign-in" id="totp">
        <Totp />
      </Section>
      <Section title="Passkeys" id="passkeys">
        <Passkeys />
      </Section>
      <Section title="Sessions" id="sessions">
        <Sessions />
      </Section>
      <Section title="API tokens" id="tokens">
        <Tokens />
      </Section>
      <Section title="Git accounts" id="git-accounts">
        <GitLinks />
      </Section>
    </>
  );
}
