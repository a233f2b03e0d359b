/**
 * The dashboard, foundation edition: sign in with an API token, list and
 * create projects, deploy, stop/start/restart, and follow a deployment's log.
 * (Cookie sign-in and the full dashboard come with the identity and dashboard issues.)
 */
import { render } from "preact";
import { signal } from "@preact/signals";
import { api, hasToken, setToken } from "./api";
import { act, deployments, error, projects, refreshDeployments, refreshProjects } from "./models/projects";

const signedIn = signal(hasToken());
const open = signal<string | null>(null);
const logText = signal("");
let logAbort: AbortController | null = null;

function SignIn() {
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        const input = (e.currentTarget.elements.namedItem("token") as HTMLInputElement).value.trim();
        setToken(input);
        signedIn.value = true;
        void refreshProjects();
      }}
    >
      <h1>WiseHosting</h1>
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="off" required placeholder="wh_pat_…" />
      <p class="hint">Make one with: wisehosting token create --email you@example.com --name dashboard</p>
      <button type="submit">Sign in</button>
    </form>
  );
}

function NewProject() {
  return (
    <form
      class="card row"
      onSubmit={(e) => {
        e.preventDefault();
        const f = e.currentTarget;
        const get = (n: string) => (f.elements.namedItem(n) as HTMLInputElement).value.trim();
        void act(async () => {
          await api.createProject({ name: get("name"), repo_url: get("repo_url"), branch: get("branch") || "main" });
          f.reset();
          await refreshProjects();
        });
      }}
    >
      <label>Name <input name="name" required /></label>
      <label>Repository <input name="repo_url" required placeholder="https://…" /></label>
      <label>Branch <input name="branch" placeholder="main" /></label>
      <button type="submit">Create project</button>
    </form>
  );
}

function showLogs(deploymentId: string) {
  logAbort?.abort();
  logAbort = new AbortController();
  logText.value = "";
  void api.followLogs(deploymentId, (t) => (logText.value += t), logAbort.signal).catch(() => {});
}

function ProjectRow({ id }: { id: string }) {
  const p = projects.value.find((x) => x.id === id)!;
  const run = (fn: () => Promise<unknown>) => act(async () => (await fn(), await refreshProjects(), await refreshDeployments(id)));
  return (
    <li class="card">
      <div class="row">
        <strong>{p.name}</strong>
        <span class={`status ${p.status}`}>{p.status}</span>
        <a href={p.url}>{p.url}</a>
      </div>
      <div class="row">
        <button onClick={() => run(() => api.deploy(id))}>Deploy</button>
        <button onClick={() => run(() => api.action(id, "stop"))}>Stop</button>
        <button onClick={() => run(() => api.action(id, "start"))}>Start</button>
        <button onClick={() => run(() => api.action(id, "restart"))}>Restart</button>
        <button onClick={() => ((open.value = open.value === id ? null : id), void refreshDeployments(id))}>Deployments</button>
      </div>
      {open.value === id && (
        <ul class="deployments">
          {(deployments.value[id] ?? []).map((d) => (
            <li key={d.id}>
              <code>{d.id.slice(0, 8)}</code> {d.status} {d.commit_sha?.slice(0, 10) ?? ""}{" "}
              <button onClick={() => showLogs(d.id)}>Logs</button>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function App() {
  if (!signedIn.value) return <SignIn />;
  return (
    <main>
      <header class="row">
        <h1>Projects</h1>
        <button onClick={() => void refreshProjects()}>Refresh</button>
        <button onClick={() => ((signedIn.value = false), setToken(""))}>Sign out</button>
      </header>
      {error.value && <p role="alert" class="error">{error.value}</p>}
      <NewProject />
      <ul class="projects">
        {projects.value.map((p) => (
          <ProjectRow key={p.id} id={p.id} />
        ))}
      </ul>
      {logText.value && <pre class="logs" aria-label="Deployment log">{logText.value}</pre>}
    </main>
  );
}

if (signedIn.value) void refreshProjects();
render(<App />, document.getElementById("app")!);
