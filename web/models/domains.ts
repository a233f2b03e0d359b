/**
 * A project's custom domains: list, add, verify now, delete. No live event
 * reports a domain's checks, so the list is polled every 15 s while the
 * open project has a domain that is pending or failing (verified but with its
 * record missing); polling stops when none is, or when the panel closes.
 */
import { signal } from "@preact/signals";
import { api, type Domain } from "../api";
import { onSignOut } from "./session";
import { action, errorText, formErrors, submitForm, type Action } from "./util";

export const POLL_MS = 15_000;

/** The open project's domains (null: not loaded yet). */
export const domainsProject = signal<string | null>(null);
export const domainList = signal<Domain[] | null>(null);
export const domainsError = signal("");
export const addForm = formErrors();

const actions = new Map<string, Action>();
/** The verify / delete action of one domain. */
export function domainAction(id: string, kind: "verify" | "delete"): Action {
  const key = `${kind}:${id}`;
  let a = actions.get(key);
  if (!a) actions.set(key, (a = action()));
  return a;
}

/** Still being checked: not verified yet, or verified with its record gone missing. */
export const needsPolling = (list: Domain[] | null) => !!list?.some((d) => d.status === "pending" || d.failing_since !== null);

let timer: ReturnType<typeof setTimeout> | null = null;

function schedule() {
  if (timer) clearTimeout(timer);
  timer = null;
  const id = domainsProject.value;
  if (id && needsPolling(domainList.value)) timer = setTimeout(() => void loadDomains(id), POLL_MS);
}

export async function loadDomains(projectId: string) {
  if (domainsProject.value !== projectId) {
    domainsProject.value = projectId;
    domainList.value = null;
  }
  try {
    const r = await api.domains(projectId);
    if (domainsProject.value !== projectId) return;
    domainList.value = r.domains;
    domainsError.value = "";
  } catch (e) {
    if (domainsProject.value === projectId) domainsError.value = errorText(e);
  }
  schedule();
}

/** The panel closed: stop polling. */
export function closeDomains() {
  if (timer) clearTimeout(timer);
  timer = null;
  domainsProject.value = null;
}

const put = (d: Domain) => {
  const list = domainList.value ?? [];
  domainList.value = list.some((x) => x.id === d.id) ? list.map((x) => (x.id === d.id ? d : x)) : [...list, d];
  schedule();
};

export async function addDomain(projectId: string, hostname: string): Promise<boolean> {
  const d = await submitForm(addForm, ["hostname"], () => api.addDomain(projectId, hostname));
  if (!d) return false;
  if (domainsProject.value === projectId) put(d);
  return true;
}

export async function verifyDomain(id: string) {
  const d = await domainAction(id, "verify").run(() => api.verifyDomain(id));
  if (d) put(d);
}

export async function deleteDomain(id: string) {
  const a = domainAction(id, "delete");
  await a.run(() => api.deleteDomain(id));
  if (!a.error.value) {
    domainList.value = (domainList.value ?? []).filter((x) => x.id !== id);
    schedule();
  }
}

onSignOut(() => {
  closeDomains();
  domainList.value = null;
  actions.clear();
});
