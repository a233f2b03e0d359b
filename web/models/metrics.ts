/**
 * Metrics for the charts: a worker's host figures (polled every 10 s while its
 * page is open), and a project's over a chosen range (1 h … 30 d).
 */
import { signal } from "@preact/signals";
import { api, type ProjectMetrics, type Worker, type WorkerMetrics } from "../api";
import { onSignOut } from "./session";
import { action, errorText } from "./util";
import { workers } from "./workers";

export const workerMetrics = signal<WorkerMetrics | null>(null);
export const workerMetricsError = signal("");
let polling: { id: string; timer: ReturnType<typeof setInterval> } | null = null;

async function loadWorkerMetrics(id: string) {
  try {
    const m = await api.workerMetrics(id, new Date(Date.now() - 3600_000).toISOString());
    if (polling?.id === id) {
      workerMetrics.value = m;
      workerMetricsError.value = "";
    }
  } catch (e) {
    if (polling?.id === id) workerMetricsError.value = errorText(e);
  }
}

/** Starts refreshing one worker's metrics every 10 s; the returned function stops it. */
export function watchWorker(id: string): () => void {
  stopWatching();
  workerMetrics.value = null;
  workerMetricsError.value = "";
  polling = { id, timer: setInterval(() => void loadWorkerMetrics(id), 10_000) };
  void loadWorkerMetrics(id);
  return stopWatching;
}

function stopWatching() {
  if (polling) clearInterval(polling.timer);
  polling = null;
}

export const drainAction = action();

/** Drains (no new deployments land there) or undrains a worker; the list shows the result. */
export async function setDraining(id: string, drain: boolean) {
  const w = await drainAction.run(() => api.drainWorker(id, drain));
  if (w && workers.value) workers.value = workers.value.map((x): Worker => (x.id === w.id ? w : x));
}

export const RANGES = [
  ["1h", "1 hour", 3600],
  ["24h", "24 hours", 86400],
  ["7d", "7 days", 7 * 86400],
  ["30d", "30 days", 30 * 86400],
] as const;
export type Range = (typeof RANGES)[number][0];

export const projectRange = signal<Range>("1h");
export const projectMetrics = signal<ProjectMetrics | null>(null);
export const projectMetricsError = signal("");
export const projectMetricsLoading = signal(false);
let asked = 0;

export async function loadProjectMetrics(id: string, range: Range = projectRange.value) {
  projectRange.value = range;
  const seconds = RANGES.find(([r]) => r === range)![2];
  const n = ++asked;
  projectMetricsLoading.value = true;
  try {
    const m = await api.projectMetrics(id, new Date(Date.now() - seconds * 1000).toISOString());
    if (n === asked) (projectMetrics.value = m), (projectMetricsError.value = "");
  } catch (e) {
    if (n === asked) projectMetricsError.value = errorText(e);
  } finally {
    if (n === asked) projectMetricsLoading.value = false;
  }
}

onSignOut(() => {
  stopWatching();
  workerMetrics.value = null;
  projectMetrics.value = null;
});
