/**
 * Projects: one signal per project (so a status change re-renders its own
 * row only) and the list's order. Kept fresh by live deployment events.
 */
import { signal, type Signal } from "@preact/signals";
import { api, ApiFailure, type Project, type ProjectChanges, type ProjectInput } from "../api";
import { navigate } from "../router";
import { onDeployment, onResync } from "./live";
import { onSignOut } from "./session";
import { errorText, formErrors, submitForm } from "./util";

const store = new Map<string, Signal<Project | undefined>>();
/** The list's ids in the API's order; null until loaded. */
export const order = signal<string[] | null>(null);
export const listError = signal("");
/** Set when a project page asked for a project that isn't there (or isn't ours). */
export const missing = signal<Record<string, string>>({});

export function projectSignal(id: string): Signal<Project | undefined> {
  let s = store.get(id);
  if (!s) store.set(id, (s = signal<Project | undefined>(undefined)));
  return s;
}

function put(p: Project) {
  projectSignal(p.id).value = p;
}

let loading: Promise<void> | null = null;

/** Loads the list (one request at a time: callers during a load share it). */
export function loadProjects(): Promise<void> {
  return (loading ??= (async () => {
    try {
      const { projects } = await api.projects();
      for (const p of projects) put(p);
      order.value = projects.map((p) => p.id);
      listError.value = "";
    } catch (e) {
      listError.value = errorText(e);
    } finally {
      loading = null;
    }
  })());
}

export async function loadProject(id: string) {
  try {
    put(await api.project(id));
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 404) missing.value = { ...missing.value, [id]: e.message };
  }
}

export const PROJECT_FIELDS = ["name", "repo_url", "branch", "dockerfile", "port", "health_path", "memory_mb", "cpus", "build_timeout_s"] as const;

export const createForm = formErrors();

export async function createProject(input: ProjectInput): Promise<Project | undefined> {
  const p = await submitForm(createForm, PROJECT_FIELDS, () => api.createProject(input));
  if (p) {
    put(p);
    order.value = [p.id, ...(order.value ?? []).filter((x) => x !== p.id)];
  }
  return p;
}

export const settingsForm = formErrors();
export const settingsSaved = signal(false);

export async function saveSettings(id: string, changes: ProjectChanges) {
  settingsSaved.value = false;
  const p = await submitForm(settingsForm, PROJECT_FIELDS, () => api.patchProject(id, changes));
  if (p) {
    put(p);
    settingsSaved.value = true;
  }
  return p;
}

export const deleteForm = formErrors();

export async function deleteProject(id: string) {
  const ok = await submitForm(deleteForm, [], async () => (await api.deleteProject(id), true));
  if (!ok) return;
  store.delete(id);
  order.value = order.value?.filter((x) => x !== id) ?? null;
  navigate("/projects");
}

// Live: a deployment changed, so its project's status, current deployment and worker may have.
const pending = new Set<string>();
onDeployment((e) => {
  if (!store.has(e.project_id) || pending.has(e.project_id)) return;
  pending.add(e.project_id);
  void loadProject(e.project_id).finally(() => pending.delete(e.project_id));
});
onResync(() => {
  if (order.value) void loadProjects();
  else for (const id of store.keys()) void loadProject(id);
});
onSignOut(() => {
  store.clear();
  order.value = null;
  missing.value = {};
});
