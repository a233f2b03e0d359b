/** Workers (admin): the list, refreshed when a worker goes online or offline. */
import { signal } from "@preact/signals";
import { api, type Worker } from "../api";
import { onResync, onWorker, onDeployment } from "./live";
import { onSignOut } from "./session";
import { errorText } from "./util";

export const workers = signal<Worker[] | null>(null);
export const workersError = signal("");

export async function loadWorkers() {
  try {
    workers.value = (await api.workers()).workers;
    workersError.value = "";
  } catch (e) {
    workersError.value = errorText(e);
  }
}

/** Worker names by id, for pages that show where a project runs. */
export const workerName = (id: string | null) => (id ? (workers.value?.find((w) => w.id === id)?.name ?? id.slice(0, 8)) : "—");

let queued = false;
const refresh = () => {
  if (!workers.value || queued) return;
  queued = true;
  setTimeout(() => ((queued = false), void loadWorkers()), 200);
};
onWorker(refresh);
// Allocation and container counts change with deployments.
onDeployment(refresh);
onResync(refresh);
onSignOut(() => (workers.value = null));
