/** The projects list (status, current deployment, URL, worker) and the new-project form. */
import { useEffect, useState } from "preact/hooks";
import type { ProjectInput } from "../api";
import { GitRepoPicker, type GitPick } from "../components/GitRepoPicker";
import { Alert, Button, Field, Loading, Status, Time, useTitle } from "../components/ui";
import { createForm, createProject, listError, loadProjects, order, projectSignal } from "../models/projects";
import { isAdmin } from "../models/session";
import { loadWorkers, workerName, workers } from "../models/workers";
import { navigate } from "../router";

function Row({ id }: { id: string }) {
  const p = projectSignal(id).value;
  if (!p) return null;
  return (
    <tr>
      <td data-label="Name">
        <a href={`/projects/${p.id}`} class="strong">
          {p.name}
        </a>
      </td>
      <td data-label="Status">
        <Status status={p.status} />
      </td>
      <td data-label="Deployment">
        {p.current_deployment_id ? (
          <a href={`/projects/${p.id}/deployments`} class="mono" aria-label={`Current deployment ${p.current_deployment_id.slice(0, 8)}`}>
            {p.current_deployment_id.slice(0, 8)}
          </a>
        ) : (
          <span class="muted">none</span>
        )}
      </td>
      <td data-label="URL" class="url">
        <a href={p.url} target="_blank" rel="noopener noreferrer">
          {p.url.replace(/^https?:\/\//, "")}
        </a>
      </td>
      <td data-label="Worker">{p.worker_id ? <span class="mono">{workerName(p.worker_id)}</span> : <span class="muted">—</span>}</td>
      <td data-label="Updated">
        <Time iso={p.updated_at} />
      </td>
    </tr>
  );
}

const num = (v: string) => (v.trim() === "" ? undefined : Number(v));

export function NewProjectForm({ onDone }: { onDone: () => void }) {
  const [f, setF] = useState({ name: "", repo_url: "", branch: "", dockerfile: "", port: "", health_path: "", memory_mb: "", cpus: "" });
  const set = (k: keyof typeof f) => (e: { currentTarget: HTMLInputElement }) => setF({ ...f, [k]: e.currentTarget.value });
  const [pick, setPick] = useState<GitPick | null>(null);
  const err = createForm.fields.value;
  return (
    <form
      class="card grid-form"
      aria-labelledby="new-project-h"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const input: ProjectInput = { name: f.name.trim(), repo_url: f.repo_url.trim() };
        if (f.branch.trim()) input.branch = f.branch.trim();
        if (pick) {
          if (!pick.repo) return void (createForm.fields.value = { "git.repo": "Choose a repository." });
          input.repo_url = pick.repo.clone_url;
          if (pick.branch) input.branch = pick.branch;
          input.git = { link_id: pick.link_id, repo: pick.repo.full_name, auto_deploy: pick.auto_deploy, previews: pick.previews };
        }
        if (f.dockerfile.trim()) input.dockerfile = f.dockerfile.trim();
        if (f.health_path.trim()) input.health_path = f.health_path.trim();
        if (num(f.port) !== undefined) input.port = num(f.port);
        if (num(f.memory_mb) !== undefined) input.memory_mb = num(f.memory_mb);
        if (num(f.cpus) !== undefined) input.cpus = num(f.cpus);
        const p = await createProject(input);
        if (p) {
          onDone();
          navigate(`/projects/${p.id}`);
        }
      }}
    >
      <h2 id="new-project-h" class="span-all">
        New project
      </h2>
      <Field id="name" label="Name" value={f.name} onInput={set("name")} error={err.name} hint="Also its host name: a-z, 0-9 and -." autoComplete="off" />
      <GitRepoPicker pick={pick} onPick={setPick} error={err["git.repo"] ?? err.git ?? err["git.link_id"]} />
      {!pick && <Field id="repo_url" label="Git repository URL" value={f.repo_url} onInput={set("repo_url")} error={err.repo_url} placeholder="https://git.example.com/you/app.git" autoComplete="off" />}
      {!pick && <Field id="branch" label="Branch" value={f.branch} onInput={set("branch")} error={err.branch} placeholder="main" />}
      <Field id="dockerfile" label="Dockerfile path" value={f.dockerfile} onInput={set("dockerfile")} error={err.dockerfile} placeholder="Containerfile or Dockerfile" />
      <Field id="port" label="Port" inputMode="numeric" value={f.port} onInput={set("port")} error={err.port} placeholder="8080" />
      <Field id="health_path" label="Health check path" value={f.health_path} onInput={set("health_path")} error={err.health_path} placeholder="/" />
      <Field id="memory_mb" label="Memory (MB)" inputMode="numeric" value={f.memory_mb} onInput={set("memory_mb")} error={err.memory_mb} placeholder="256" />
      <Field id="cpus" label="CPUs" inputMode="decimal" value={f.cpus} onInput={set("cpus")} error={err.cpus} placeholder="0.5" />
      <div class="span-all row">
        <Button type="submit" kind="primary" busy={createForm.busy.value} busyLabel="Creating…">
          Create project
        </Button>
        <Button onClick={onDone}>Cancel</Button>
      </div>
      <div class="span-all">
        <Alert>{createForm.form.value}</Alert>
      </div>
    </form>
  );
}

export function ProjectsPage() {
  useTitle("Projects");
  const [adding, setAdding] = useState(false);
  useEffect(() => {
    void loadProjects();
    if (isAdmin.value && !workers.value) void loadWorkers();
  }, []);
  const ids = order.value;
  return (
    <>
      <div class="page-head">
        <h1>Projects</h1>
        {!adding && (
          <Button kind="primary" onClick={() => setAdding(true)}>
            New project
          </Button>
        )}
      </div>
      {adding && (
        <NewProjectForm
          onDone={() => {
            setAdding(false);
            createForm.fields.value = {};
            createForm.form.value = "";
          }}
        />
      )}
      <Alert>{listError.value}</Alert>
      {ids === null ? (
        !listError.value && <Loading what="projects" />
      ) : ids.length === 0 ? (
        !adding && (
          <div class="card empty">
            <p>No projects yet. Create one from a git repository that has a Containerfile or Dockerfile.</p>
          </div>
        )
      ) : (
        <div class="card flush">
          <table class="table responsive" aria-label={`Projects (${ids.length})`}>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Deployment</th>
                <th scope="col">URL</th>
                <th scope="col">Worker</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {ids.map((id) => (
                <Row key={id} id={id} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
