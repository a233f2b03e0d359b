/**
 * The audit log: filters, and cursor pagination (the API's next_cursor; the
 * cursors of earlier pages are kept so "Previous" needs no extra call shape).
 */
import { signal } from "@preact/signals";
import { api, type AuditEvent, type AuditFilter } from "../api";
import { onSignOut } from "./session";
import { errorText } from "./util";

export const PAGE_SIZE = 50;
export const filter = signal<AuditFilter>({});
export const events = signal<AuditEvent[] | null>(null);
export const nextCursor = signal<string | null>(null);
/** Cursors of the pages before this one ("" = the first page). */
export const trail = signal<string[]>([]);
export const current = signal("");
export const auditError = signal("");
export const auditBusy = signal(false);

/** Loads the page at `cursor`; the page trail changes only once it arrived. */
async function load(cursor: string, nextTrail: string[]) {
  auditBusy.value = true;
  auditError.value = "";
  try {
    const page = await api.audit({ ...filter.value, cursor: cursor || undefined, limit: PAGE_SIZE });
    events.value = page.events;
    nextCursor.value = page.next_cursor;
    current.value = cursor;
    trail.value = nextTrail;
  } catch (e) {
    auditError.value = errorText(e);
  } finally {
    auditBusy.value = false;
  }
}

export function applyFilter(f: AuditFilter) {
  filter.value = f;
  return load("", []);
}

export function nextPage() {
  if (!nextCursor.value) return;
  return load(nextCursor.value, [...trail.value, current.value]);
}

export function previousPage() {
  const t = trail.value;
  if (!t.length) return;
  return load(t[t.length - 1]!, t.slice(0, -1));
}

export const reloadAudit = () => load(current.value, trail.value);

onSignOut(() => {
  filter.value = {};
  events.value = null;
  trail.value = [];
  current.value = "";
});
