/**
 * Deployments per project, the project's action buttons (deploy, stop,
 * start, restart, redeploy one) with their progress and errors. Live events
 * refresh the one deployment that changed.
 */
import { signal, type Signal } from "@preact/signals";
import { api, type Deployment } from "../api";
import { onDeployment, onResync } from "./live";
import { loadProject } from "./projects";
import { onSignOut } from "./session";
import { action, errorText, type Action } from "./util";

const lists = new Map<string, Signal<Deployment[] | null>>();
export const listErrors = signal<Record<string, string>>({});

export function deploymentsOf(projectId: string): Signal<Deployment[] | null> {
  let s = lists.get(projectId);
  if (!s) lists.set(projectId, (s = signal<Deployment[] | null>(null)));
  return s;
}

export async function loadDeployments(projectId: string) {
  try {
    deploymentsOf(projectId).value = (await api.deployments(projectId)).deployments;
  } catch (e) {
    listErrors.value = { ...listErrors.value, [projectId]: errorText(e) };
  }
}

function upsert(d: Deployment) {
  const s = deploymentsOf(d.project_id);
  const list = s.value ?? [];
  const i = list.findIndex((x) => x.id === d.id);
  if (i >= 0) s.value = list.map((x) => (x.id === d.id ? d : x));
  else s.value = [d, ...list].sort((a, b) => b.queued_at.localeCompare(a.queued_at));
}

export type ProjectAction = "deploy" | "stop" | "start" | "restart";
const actions = new Map<string, Action>();

/** The progress and error of one button ("deploy", "stop", … or "redeploy:<deployment id>"). */
export function actionOf(projectId: string, name: string): Action {
  const key = `${projectId}:${name}`;
  let a = actions.get(key);
  if (!a) actions.set(key, (a = action()));
  return a;
}

/** Runs a project button; returns the deployment it concerns (a new one for deploy). */
export async function runAction(projectId: string, name: ProjectAction): Promise<string | undefined> {
  return actionOf(projectId, name).run(async () => {
    let id: string;
    if (name === "deploy") id = (await api.deploy(projectId)).id;
    else id = (await api.projectAction(projectId, name)).id;
    await refreshOne(id);
    void loadProject(projectId);
    return id;
  });
}

/** "Redeploy this one": a new deployment of an earlier one (a rollback). */
export async function redeploy(projectId: string, deploymentId: string): Promise<string | undefined> {
  return actionOf(projectId, `redeploy:${deploymentId}`).run(async () => {
    const { id } = await api.redeploy(deploymentId);
    await refreshOne(id);
    return id;
  });
}

async function refreshOne(id: string) {
  try {
    upsert(await api.deployment(id));
  } catch {}
}

onDeployment((e) => {
  if (lists.get(e.project_id)?.value) void refreshOne(e.deployment_id);
});
onResync(() => {
  for (const [projectId, s] of lists) if (s.value) void loadDeployments(projectId);
});
onSignOut(() => {
  lists.clear();
  actions.clear();
  listErrors.value = {};
});
