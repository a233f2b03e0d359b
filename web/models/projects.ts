/** Projects state as signals, outside the components. */
import { signal } from "@preact/signals";
import type { Deployment, Project } from "../../src/protocol/api";
import { api } from "../api";

export const projects = signal<Project[]>([]);
export const deployments = signal<Record<string, Deployment[]>>({});
export const error = signal<string>("");

export async function refreshProjects() {
  try {
    projects.value = (await api.projects()).projects;
    error.value = "";
  } catch (e) {
    error.value = (e as Error).message;
  }
}

export async function refreshDeployments(projectId: string) {
  const { deployments: list } = await api.deployments(projectId);
  deployments.value = { ...deployments.value, [projectId]: list };
}

/** Runs an action and records its error text for the page. */
export async function act(fn: () => Promise<unknown>) {
  try {
    await fn();
    error.value = "";
  } catch (e) {
    error.value = (e as Error).message;
  }
}
