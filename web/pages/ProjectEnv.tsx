/** A project's Environment tab: the env table with masked values, reveal, edit, bulk .env paste and build-time marks. */
import { useEffect, useState } from "preact/hooks";
import type { Project } from "../api";
import { Alert, Button, Loading } from "../components/ui";
import * as env from "../models/env";

export function EnvTab({ p }: { p: Project }) {
  useEffect(() => {
    if (env.envProject.value !== p.id || !env.dirty.value) void env.loadEnv(p.id);
  }, [p.id]);
  const [paste, setPaste] = useState("");
  const [pasteNote, setPasteNote] = useState("");
  const [editing, setEditing] = useState<Record<number, boolean>>({});
  const problems = env.problems.value;
  if (env.envLoading.value && env.rows.value.length === 0) return <Loading what="environment variables" />;
  return (
    <div class="card">
      <p class="hint">
        Values are encrypted at rest and given to the app as environment variables on its next deploy. Ticked
        build-time ones are also build arguments (<code>ARG NAME</code> in the Containerfile); their values never appear in
        a command line or the build log.
      </p>
      <table class="table env-table" aria-label="Environment variables">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Value</th>
            <th scope="col">Build-time</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {env.rows.value.map((r, i) => {
            const isEditing = editing[r.rid] || r.savedKey === null;
            const show = env.shown.value[r.key];
            const real = r.value ?? (show ? env.revealed.value[r.savedKey ?? r.key] : undefined);
            return (
              <tr key={r.rid}>
                <td>
                  {r.savedKey === null ? (
                    <>
                      <label class="sr-only" for={`env-key-${r.rid}`}>
                        Name of variable {i + 1}
                      </label>
                      <input
                        id={`env-key-${r.rid}`}
                        class="mono"
                        value={r.key}
                        aria-invalid={problems[r.rid] ? "true" : undefined}
                        aria-describedby={problems[r.rid] ? `env-err-${r.rid}` : undefined}
                        onInput={(e) => env.editRow(r, { key: e.currentTarget.value.toUpperCase() })}
                        placeholder="NAME"
                      />
                    </>
                  ) : (
                    <span class="mono">{r.key}</span>
                  )}
                  {problems[r.rid] && (
                    <p class="field-error" id={`env-err-${r.rid}`}>
                      {problems[r.rid]}
                    </p>
                  )}
                </td>
                <td class="env-value">
                  {isEditing ? (
                    <>
                      <label class="sr-only" for={`env-value-${r.rid}`}>
                        Value of {r.key || `variable ${i + 1}`}
                      </label>
                      <input id={`env-value-${r.rid}`} class="mono" value={r.value ?? ""} onInput={(e) => env.editRow(r, { value: e.currentTarget.value })} />
                    </>
                  ) : (
                    <span class="mono">{real !== undefined ? real : r.masked}</span>
                  )}
                </td>
                <td>
                  <label class="inline-check">
                    <input type="checkbox" checked={r.build} onChange={(e) => env.editRow(r, { build: e.currentTarget.checked })} />
                    <span class="sr-only">Give {r.key || `variable ${i + 1}`} to the build as a build argument</span>
                  </label>
                </td>
                <td class="row-actions">
                  {!isEditing && r.value === null && (
                    <Button class="small" onClick={() => env.toggleReveal(r.key)} aria-label={`${show ? "Hide" : "Reveal"} ${r.key}`}>
                      {show ? "Hide" : "Reveal"}
                    </Button>
                  )}
                  {!isEditing && (
                    <Button
                      class="small"
                      aria-label={`Edit ${r.key}`}
                      onClick={async () => {
                        await env.beginEdit(r);
                        setEditing({ ...editing, [r.rid]: true });
                      }}
                    >
                      Edit
                    </Button>
                  )}
                  <Button class="small" kind="danger" aria-label={`Delete ${r.key || `variable ${i + 1}`}`} onClick={() => env.deleteRow(r)}>
                    Delete
                  </Button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {env.rows.value.length === 0 && <p class="muted">No variables.</p>}
      <div class="row">
        <Button onClick={() => env.addRow()}>Add variable</Button>
      </div>
      <details class="paste">
        <summary>Paste a .env file</summary>
        <div class="stack">
          <label for="env-paste">.env contents (KEY=VALUE per line; # comments are skipped)</label>
          <textarea id="env-paste" rows={6} class="mono" value={paste} onInput={(e) => setPaste(e.currentTarget.value)} />
          <div class="row">
            <Button
              onClick={() => {
                setPasteNote(env.pasteDotenv(paste));
                setPaste("");
              }}
              disabled={!paste.trim()}
            >
              Add to the table
            </Button>
            <span role="status" class="muted">
              {pasteNote}
            </span>
          </div>
        </div>
      </details>
      <div class="save-bar row">
        <Button kind="primary" busy={env.envSaving.value} busyLabel="Saving…" disabled={!env.dirty.value || Object.keys(problems).length > 0} onClick={async () => {
          await env.saveEnv();
          if (env.envSaved.value) {
            setEditing({});
            setPasteNote("");
          }
        }}>
          Save changes
        </Button>
        {env.dirty.value && (
          <Button
            onClick={() => {
              setEditing({});
              void env.loadEnv(p.id);
            }}
          >
            Discard
          </Button>
        )}
        <span role="status" class={env.dirty.value ? "unsaved" : "muted"}>
          {env.dirty.value ? "Unsaved changes" : env.envSaved.value ? "Saved. Deploy to apply." : ""}
        </span>
      </div>
      <Alert>{env.envError.value}</Alert>
    </div>
  );
}
