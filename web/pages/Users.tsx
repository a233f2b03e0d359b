/** Users (admin): create or invite, change role, disable / enable. */
import { useEffect, useState } from "preact/hooks";
import { Alert, Button, CopyButton, Field, Loading, Select, Time, useTitle } from "../components/ui";
import { created, createUser, loadUsers, patchUser, rowAction, userForm, users, usersError } from "../models/users";
import { me } from "../models/session";

function NewUser() {
  const [f, setF] = useState({ email: "", role: "member", password: "", display_name: "" });
  const err = userForm.fields.value;
  return (
    <form
      class="card grid-form"
      aria-labelledby="new-user-h"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const u = await createUser({
          email: f.email.trim(),
          role: f.role === "admin" ? "admin" : "member",
          ...(f.password ? { password: f.password } : {}),
          ...(f.display_name.trim() ? { display_name: f.display_name.trim() } : {}),
        });
        if (u) setF({ email: "", role: "member", password: "", display_name: "" });
      }}
    >
      <h2 id="new-user-h" class="span-all">
        Add a person
      </h2>
      <Field id="u-email" label="Email" type="email" value={f.email} onInput={(e) => setF({ ...f, email: e.currentTarget.value })} error={err.email} autoComplete="off" />
      <Field id="u-name" label="Name (optional)" value={f.display_name} onInput={(e) => setF({ ...f, display_name: e.currentTarget.value })} error={err.display_name} />
      <Select
        id="u-role"
        label="Role"
        value={f.role}
        options={[
          ["member", "Member"],
          ["admin", "Admin"],
        ]}
        onChange={(e) => setF({ ...f, role: e.currentTarget.value })}
        error={err.role}
      />
      <Field
        id="u-password"
        label="Password (optional)"
        type="password"
        autoComplete="new-password"
        value={f.password}
        onInput={(e) => setF({ ...f, password: e.currentTarget.value })}
        error={err.password}
        hint="Leave empty to get an invite link the person opens to set their own."
      />
      <div class="span-all row">
        <Button type="submit" kind="primary" busy={userForm.busy.value} busyLabel="Adding…">
          Add person
        </Button>
      </div>
      <div class="span-all">
        <Alert>{userForm.form.value}</Alert>
        {created.value && (
          <div class="alert ok" role="status">
            <p>
              Added {created.value.email}.{" "}
              {created.value.invite_url ? "Send them this invite link (shown once, valid 7 days):" : "They can sign in with the password you set."}
            </p>
            {created.value.invite_url && (
              <div class="secret-row">
                <code class="secret">{created.value.invite_url}</code>
                <CopyButton text={created.value.invite_url} label="Copy link" />
              </div>
            )}
          </div>
        )}
      </div>
    </form>
  );
}

export function UsersPage() {
  useTitle("Users");
  useEffect(() => void loadUsers(), []);
  const list = users.value;
  return (
    <>
      <div class="page-head">
        <h1>Users</h1>
      </div>
      <NewUser />
      <Alert>{usersError.value}</Alert>
      {!list ? (
        !usersError.value && <Loading what="users" />
      ) : (
        <div class="card flush">
          <table class="table responsive" aria-label="Users">
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Two-factor</th>
                <th scope="col">State</th>
                <th scope="col">Added</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((u) => {
                const a = rowAction(u.id);
                const self = u.id === me.value?.id;
                return (
                  <tr key={u.id}>
                    <td data-label="Email">
                      <span class="strong">{u.email}</span>
                      {u.display_name && <span class="muted"> · {u.display_name}</span>}
                      {self && <span class="tag">you</span>}
                    </td>
                    <td data-label="Role">
                      <label class="sr-only" for={`role-${u.id}`}>
                        Role of {u.email}
                      </label>
                      <select
                        id={`role-${u.id}`}
                        value={u.role}
                        disabled={a.busy.value || u.disabled}
                        onChange={(e) => void patchUser(u.id, { role: e.currentTarget.value === "admin" ? "admin" : "member" })}
                      >
                        <option value="member">Member</option>
                        <option value="admin">Admin</option>
                      </select>
                    </td>
                    <td data-label="Two-factor">{u.totp_enabled ? "On" : <span class="muted">Off</span>}</td>
                    <td data-label="State">{u.disabled ? <span class="status s-failed">disabled</span> : <span class="status s-running">active</span>}</td>
                    <td data-label="Added">
                      <Time iso={u.created_at} />
                    </td>
                    <td class="row-actions">
                      {u.disabled ? (
                        <Button class="small" busy={a.busy.value} busyLabel="Enabling…" onClick={() => patchUser(u.id, { disabled: false })} aria-label={`Enable ${u.email}`}>
                          Enable
                        </Button>
                      ) : (
                        <Button
                          class="small"
                          kind="danger"
                          busy={a.busy.value}
                          busyLabel="Disabling…"
                          onClick={() => patchUser(u.id, { disabled: true })}
                          aria-label={`Disable ${u.email}`}
                          title="Ends every session and token of this person"
                        >
                          Disable
                        </Button>
                      )}
                      {a.error.value && (
                        <p class="field-error" role="alert">
                          {a.error.value}
                        </p>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
