/** The audit log: filter by actor, action, target and time range; cursor pages. */
import { useEffect, useState } from "preact/hooks";
import { Alert, Button, Field, Loading, Select, Time, useTitle } from "../components/ui";
import { applyFilter, auditBusy, auditError, events, nextCursor, nextPage, previousPage, trail, PAGE_SIZE } from "../models/audit";
import { isAdmin, me } from "../models/session";
import { loadUsers, userEmail, users } from "../models/users";

const ACTIONS = [
  "auth.login",
  "auth.login_failed",
  "auth.logout",
  "project.create",
  "project.update",
  "project.delete",
  "deployment.create",
  "project.stop",
  "project.start",
  "project.restart",
  "env.update",
  "session.revoke",
  "token.create",
  "token.revoke",
  "user.create",
  "user.update",
  "user.disable",
  "totp.activate",
  "totp.disable",
];

const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function AuditPage() {
  useTitle("Audit log");
  const [f, setF] = useState({ actor: "", action: "", target: "", from: "", to: "" });
  useEffect(() => {
    void applyFilter({});
    if (isAdmin.value && !users.value) void loadUsers();
  }, []);
  const list = events.value;
  const page = trail.value.length + 1;
  return (
    <>
      <div class="page-head">
        <h1>Audit log</h1>
      </div>
      <form
        class="card filters"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          void applyFilter({
            actor: f.actor || undefined,
            action: f.action.trim() || undefined,
            target: f.target.trim() || undefined,
            from: toIso(f.from),
            to: toIso(f.to),
          });
        }}
      >
        {isAdmin.value && (
          <Select
            id="a-actor"
            label="Actor"
            value={f.actor}
            options={[["", "Anyone"], ...(users.value ?? []).map((u) => [u.id, u.email] as [string, string])]}
            onChange={(e) => setF({ ...f, actor: e.currentTarget.value })}
          />
        )}
        <Field id="a-action" label="Action" list="audit-actions" value={f.action} onInput={(e) => setF({ ...f, action: e.currentTarget.value })} placeholder="e.g. auth.login" />
        <datalist id="audit-actions">
          {ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <Field id="a-target" label="Target id" value={f.target} onInput={(e) => setF({ ...f, target: e.currentTarget.value })} />
        <Field id="a-from" label="From" type="datetime-local" value={f.from} onInput={(e) => setF({ ...f, from: e.currentTarget.value })} />
        <Field id="a-to" label="To" type="datetime-local" value={f.to} onInput={(e) => setF({ ...f, to: e.currentTarget.value })} />
        <div class="row end">
          <Button type="submit" kind="primary" busy={auditBusy.value} busyLabel="Filtering…">
            Apply
          </Button>
          <Button
            onClick={() => {
              setF({ actor: "", action: "", target: "", from: "", to: "" });
              void applyFilter({});
            }}
          >
            Clear
          </Button>
        </div>
      </form>
      <Alert>{auditError.value}</Alert>
      {!list ? (
        !auditError.value && <Loading what="events" />
      ) : list.length === 0 ? (
        <p class="card empty">No events match.</p>
      ) : (
        <div class="card flush">
          <table class="table responsive" aria-label={`Audit events, page ${page}`} aria-busy={auditBusy.value ? "true" : undefined}>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">IP</th>
              </tr>
            </thead>
            <tbody>
              {list.map((ev) => (
                <tr key={ev.id}>
                  <td data-label="Time">
                    <Time iso={ev.at} />
                  </td>
                  <td data-label="Actor">{ev.actor_email ?? (ev.actor_id === me.value?.id ? me.value?.email : ev.actor_id ? (userEmail(ev.actor_id) ?? ev.actor_id.slice(0, 8)) : "system")}</td>
                  <td data-label="Action" class="mono">
                    {ev.action}
                  </td>
                  <td data-label="Target" class="mono">
                    {ev.target_type ? `${ev.target_type} ${ev.target_id?.slice(0, 8) ?? ""}` : "—"}
                  </td>
                  <td data-label="Outcome">{ev.outcome === "failure" ? <span class="status s-failed">failure</span> : "success"}</td>
                  <td data-label="IP" class="mono">
                    {ev.ip ?? "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager row" aria-label="Pages">
        <Button onClick={previousPage} disabled={page === 1 || auditBusy.value}>
          Previous page
        </Button>
        <span class="muted">
          Page {page} · {PAGE_SIZE} per page
        </span>
        <Button onClick={nextPage} disabled={!nextCursor.value || auditBusy.value}>
          Next page
        </Button>
      </nav>
    </>
  );
}
