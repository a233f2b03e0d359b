/**
 * One project: its status and buttons (Deploy, Stop, Start, Restart), and
 * tabs for deployments (with rollback), the live log, env vars and settings.
 */
import { useEffect, useState } from "preact/hooks";
import type { Deployment, Project } from "../api";
import { GitSettings } from "../components/GitSettings";
import { LogView } from "../components/LogView";
import { DomainsPanel } from "./Domains";
import { ActionButton, Alert, Button, Field, Loading, Status, Time, duration, useTitle } from "../components/ui";
import { actionOf, deploymentsOf, listErrors, loadDeployments, redeploy, runAction, type ProjectAction } from "../models/deployments";
import { downloadLog, following, lineCount, logDeployment, logError, matches, openLog, searchText } from "../models/logs";
import { deleteForm, deleteProject, loadProject, missing, projectSignal, saveSettings, settingsForm, settingsSaved } from "../models/projects";
import { isAdmin, me } from "../models/session";
import { loadUsers, userEmail, users } from "../models/users";
import { loadWorkers, workerName, workers } from "../models/workers";
import { navigate, query } from "../router";
import { MetricsTab } from "./ProjectMetrics";
import { EnvTab } from "./ProjectEnv";

const TABS = [
  ["deployments", "Deployments"],
  ["logs", "Logs"],
  ["env", "Environment"],
  ["domains", "Domains"],
  ["settings", "Settings"],
  ["metrics", "Metrics"],
] as const;
export type Tab = (typeof TABS)[number][0];

const BUTTONS: [ProjectAction, string, string][] = [
  ["deploy", "Deploy", "Deploying…"],
  ["stop", "Stop", "Stopping…"],
  ["start", "Start", "Starting…"],
  ["restart", "Restart", "Restarting…"],
];

function Actions({ p }: { p: Project }) {
  const errors = BUTTONS.map(([a, label]) => [label, actionOf(p.id, a).error.value] as const).filter(([, e]) => e);
  return (
    <div class="actions">
      <div class="row" role="group" aria-label="Project actions">
        {BUTTONS.map(([a, label, busy]) => (
          <ActionButton
            key={a}
            act={actionOf(p.id, a)}
            label={label}
            busyLabel={busy}
            kind={a === "deploy" ? "primary" : "plain"}
            run={async () => {
              const id = await runAction(p.id, a);
              if (id && a === "deploy") navigate(`/projects/${p.id}/logs?deployment=${id}`);
            }}
          />
        ))}
      </div>
      {errors.map(([label, e]) => (
        <Alert key={label}>
          {label} failed: {e}
        </Alert>
      ))}
    </div>
  );
}

function startedBy(d: Deployment): string {
  if (!d.created_by) return "—";
  if (d.created_by === me.value?.id) return "you";
  return userEmail(d.created_by) ?? d.created_by.slice(0, 8);
}

function DeploymentsTab({ p }: { p: Project }) {
  const list = deploymentsOf(p.id).value;
  if (!list) return listErrors.value[p.id] ? <Alert>{listErrors.value[p.id]}</Alert> : <Loading what="deployments" />;
  if (!list.length) return <p class="card empty">No deployments yet. Press Deploy to build the {p.branch} branch.</p>;
  return (
    <div class="card flush">
      <table class="table responsive" aria-label="Deployments">
        <thead>
          <tr>
            <th scope="col">Deployment</th>
            <th scope="col">Status</th>
            <th scope="col">Commit</th>
            <th scope="col">Started by</th>
            <th scope="col">Queued</th>
            <th scope="col">Waited</th>
            <th scope="col">Build</th>
            <th scope="col">Start</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.map((d) => {
            const act = actionOf(p.id, `redeploy:${d.id}`);
            const end = d.failed_at ?? d.running_at;
            return (
              <tr key={d.id} data-deployment={d.id}>
                <td data-label="Deployment" class="mono">
                  {d.id.slice(0, 8)}
                  {d.id === p.current_deployment_id && <span class="tag">current</span>}
                  {d.redeploy_of && <p class="hint">redeploy of {d.redeploy_of.slice(0, 8)}</p>}
                </td>
                <td data-label="Status">
                  <Status status={d.status} />
                  {d.error && <p class="field-error">{d.error}</p>}
                  {d.status === "queued" && d.pending_reason && <p class="hint">{d.pending_reason}</p>}
                </td>
                <td data-label="Commit" class="mono">
                  {d.commit_sha ? <span title={d.commit_sha}>{d.commit_sha.slice(0, 10)}</span> : <span class="muted">—</span>}
                </td>
                <td data-label="Started by">{startedBy(d)}</td>
                <td data-label="Queued">
                  <Time iso={d.queued_at} />
                </td>
                <td data-label="Waited">{duration(d.queued_at, d.building_at ?? (d.status === "failed" ? d.failed_at : null))}</td>
                <td data-label="Build">{duration(d.building_at, d.starting_at ?? (d.building_at ? d.failed_at : null))}</td>
                <td data-label="Start">{duration(d.starting_at, end)}</td>
                <td class="row-actions">
                  <a class="btn plain small" href={`/projects/${p.id}/logs?deployment=${d.id}`} aria-label={`Logs of ${d.id.slice(0, 8)}`}>
                    Logs
                  </a>
                  {d.commit_sha && d.id !== p.current_deployment_id && (
                    <Button
                      class="small"
                      busy={act.busy.value}
                      busyLabel="Redeploying…"
                      aria-label={`Redeploy this one: ${d.id.slice(0, 8)}, commit ${d.commit_sha.slice(0, 10)}`}
                      onClick={async () => {
                        const id = await redeploy(p.id, d.id);
                        if (id) navigate(`/projects/${p.id}/logs?deployment=${id}`);
                      }}
                    >
                      Redeploy this one
                    </Button>
                  )}
                  {act.error.value && <p class="field-error" role="alert">Redeploy failed: {act.error.value}</p>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function LogsTab({ p }: { p: Project }) {
  const list = deploymentsOf(p.id).value;
  const wanted = query.value.get("deployment") ?? list?.[0]?.id ?? null;
  useEffect(() => {
    if (wanted) openLog(wanted);
  }, [wanted]);
  const [q, setQ] = useState(searchText.value);
  useEffect(() => {
    const t = setTimeout(() => (searchText.value = q), 120);
    return () => clearTimeout(t);
  }, [q]);
  if (!wanted) return list ? <p class="card empty">No deployments yet, so no logs.</p> : <Loading what="deployments" />;
  const d = list?.find((x) => x.id === wanted);
  const hits = matches.value;
  return (
    <div class="card logs-card">
      <div class="log-tools">
        <div class="field">
          <label for="log-deployment">Deployment</label>
          <select id="log-deployment" value={wanted} onChange={(e) => navigate(`/projects/${p.id}/logs?deployment=${e.currentTarget.value}`, { replace: true })}>
            {(list ?? []).map((x) => (
              <option key={x.id} value={x.id}>
                {x.id.slice(0, 8)} · {x.status}
                {x.commit_sha ? ` · ${x.commit_sha.slice(0, 7)}` : ""}
              </option>
            ))}
            {!d && <option value={wanted}>{wanted.slice(0, 8)}</option>}
          </select>
        </div>
        <div class="field grow">
          <label for="log-search">Search</label>
          <input id="log-search" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} placeholder="Filter lines" />
        </div>
        <Button onClick={downloadLog}>Download</Button>
      </div>
      <p class="log-status" role="status">
        {d && <Status status={d.status} />}{" "}
        {following.value ? (
          <span>
            <span class="spinner" aria-hidden="true" /> Following new lines…
          </span>
        ) : (
          <span class="muted">Stream ended.</span>
        )}{" "}
        <span class="muted">
          {hits ? `${hits.length} of ${lineCount()} lines match` : `${lineCount()} lines`}
        </span>
        {!following.value && logDeployment.value && (
          <button type="button" class="linkish" onClick={() => openLog(logDeployment.value!, true)}>
            Reload
          </button>
        )}
      </p>
      <Alert>{logError.value}</Alert>
      <LogView query={hits ? searchText.value : ""} label={`Log of deployment ${wanted.slice(0, 8)}`} />
    </div>
  );
}

function SettingsTab({ p }: { p: Project }) {
  const init = () => ({
    name: p.name,
    repo_url: p.repo_url,
    branch: p.branch,
    dockerfile: p.dockerfile ?? "",
    port: String(p.port),
    health_path: p.health_path,
    memory_mb: String(p.memory_mb),
    cpus: String(p.cpus),
    build_timeout_s: String(p.build_timeout_s),
  });
  const [f, setF] = useState(init);
  const [confirm, setConfirm] = useState("");
  useEffect(() => {
    settingsSaved.value = false;
    settingsForm.fields.value = {};
    settingsForm.form.value = "";
  }, [p.id]);
  const set = (k: keyof typeof f) => (e: { currentTarget: HTMLInputElement }) => {
    settingsSaved.value = false;
    setF({ ...f, [k]: e.currentTarget.value });
  };
  const err = settingsForm.fields.value;
  return (
    <>
      <GitSettings p={p} />
      <form
        class="card grid-form"
        aria-labelledby="settings-h"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          const n = (v: string) => (v.trim() === "" ? NaN : Number(v));
          await saveSettings(p.id, {
            name: f.name.trim(),
            repo_url: f.repo_url.trim(),
            branch: f.branch.trim(),
            dockerfile: f.dockerfile.trim() || null,
            port: n(f.port),
            health_path: f.health_path.trim(),
            memory_mb: n(f.memory_mb),
            cpus: n(f.cpus),
            build_timeout_s: n(f.build_timeout_s),
          });
        }}
      >
        <h2 id="settings-h" class="span-all">
          Settings
        </h2>
        <Field id="s-name" label="Name" value={f.name} onInput={set("name")} error={err.name} hint="Changing it changes the app's URL." />
        <Field id="s-repo_url" label="Git repository URL" value={f.repo_url} onInput={set("repo_url")} error={err.repo_url} />
        <Field id="s-branch" label="Branch" value={f.branch} onInput={set("branch")} error={err.branch} />
        <Field id="s-dockerfile" label="Dockerfile path" value={f.dockerfile} onInput={set("dockerfile")} error={err.dockerfile} placeholder="Containerfile or Dockerfile" />
        <Field id="s-port" label="Port" inputMode="numeric" value={f.port} onInput={set("port")} error={err.port} />
        <Field id="s-health_path" label="Health check path" value={f.health_path} onInput={set("health_path")} error={err.health_path} />
        <Field id="s-memory_mb" label="Memory (MB)" inputMode="numeric" value={f.memory_mb} onInput={set("memory_mb")} error={err.memory_mb} />
        <Field id="s-cpus" label="CPUs" inputMode="decimal" value={f.cpus} onInput={set("cpus")} error={err.cpus} />
        <Field
          id="s-build_timeout_s"
          label="Build timeout (seconds)"
          inputMode="numeric"
          value={f.build_timeout_s}
          onInput={set("build_timeout_s")}
          error={err.build_timeout_s}
          hint="30 to 7200; a longer build is stopped and the deployment fails."
        />
        <div class="span-all row">
          <Button type="submit" kind="primary" busy={settingsForm.busy.value} busyLabel="Saving…">
            Save settings
          </Button>
          <span role="status" class="muted">
            {settingsSaved.value ? "Saved. Deploy to apply." : ""}
          </span>
        </div>
        <div class="span-all">
          <Alert>{settingsForm.form.value}</Alert>
        </div>
      </form>
      <form
        class="card danger-zone stack"
        aria-labelledby="delete-h"
        onSubmit={(e) => {
          e.preventDefault();
          if (confirm === p.name) void deleteProject(p.id);
        }}
      >
        <h2 id="delete-h">Delete this project</h2>
        <p>This removes its containers, deployments, logs and environment variables. It can't be undone.</p>
        <Field
          id="delete-confirm"
          label={
            <>
              Type <strong class="mono">{p.name}</strong> to confirm
            </>
          }
          autoComplete="off"
          value={confirm}
          onInput={(e) => setConfirm(e.currentTarget.value)}
        />
        <div class="row">
          <Button type="submit" kind="danger" disabled={confirm !== p.name} busy={deleteForm.busy.value} busyLabel="Deleting…">
            Delete project
          </Button>
        </div>
        <Alert>{deleteForm.form.value}</Alert>
      </form>
    </>
  );
}

export function ProjectPage({ id, tab }: { id: string; tab: Tab }) {
  const p = projectSignal(id).value;
  useTitle(p ? `${p.name} · ${TABS.find(([t]) => t === tab)?.[1] ?? ""}` : "Project");
  useEffect(() => {
    void loadProject(id);
    void loadDeployments(id);
    if (isAdmin.value) {
      if (!workers.value) void loadWorkers();
      if (!users.value) void loadUsers();
    }
  }, [id]);
  if (!p) return missing.value[id] ? <Alert>{missing.value[id]}</Alert> : <Loading what="the project" />;
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="/projects">Projects</a> <span aria-hidden="true">/</span>
      </nav>
      <div class="page-head">
        <h1>{p.name}</h1>
        <Status status={p.status} />
      </div>
      <dl class="facts">
        <div>
          <dt>URL</dt>
          <dd>
            <a href={p.url} target="_blank" rel="noopener noreferrer">
              {p.url}
            </a>
          </dd>
        </div>
        <div>
          <dt>Repository</dt>
          <dd class="mono wrap">
            {p.repo_url} @ {p.branch}
          </dd>
        </div>
        <div>
          <dt>Worker</dt>
          <dd class="mono">{p.worker_id ? workerName(p.worker_id) : "—"}</dd>
        </div>
        <div>
          <dt>Resources</dt>
          <dd>
            {p.memory_mb} MB · {p.cpus} CPU · port {p.port}
          </dd>
        </div>
      </dl>
      <Actions p={p} />
      <nav class="tabs" aria-label="Project sections">
        {TABS.map(([t, label]) => (
          <a key={t} href={t === "deployments" ? `/projects/${id}` : `/projects/${id}/${t}`} aria-current={tab === t ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {tab === "deployments" && <DeploymentsTab p={p} />}
      {tab === "logs" && <LogsTab p={p} />}
      {tab === "env" && <EnvTab p={p} />}
      {tab === "domains" && <DomainsPanel p={p} />}
      {tab === "settings" && <SettingsTab key={p.id} p={p} />}
      {tab === "metrics" && <MetricsTab p={p} />}
    </>
  );
}
