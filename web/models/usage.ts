/** Usage for a calendar month (UTC): per project per hour from GET /v1/usage, and the CSV link. */
import { computed, signal } from "@preact/signals";
import { api, type UsageReport } from "../api";
import { onSignOut } from "./session";
import { errorText } from "./util";

const pad = (n: number) => String(n).padStart(2, "0");
/** "2026-11" for the current month (UTC). */
export const thisMonth = () => {
  const d = new Date();
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
};

/** The last 12 months, newest first: [value, label]. */
export function monthOptions(): [string, string][] {
  const d = new Date();
  const out: [string, string][] = [];
  for (let i = 0; i < 12; i++) {
    const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1));
    out.push([`${m.getUTCFullYear()}-${pad(m.getUTCMonth() + 1)}`, m.toLocaleDateString(undefined, { year: "numeric", month: "long", timeZone: "UTC" })]);
  }
  return out;
}

/** The month's start and end (the end capped at now), ISO. */
export function monthRange(month: string): { from: string; to: string } {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const from = new Date(Date.UTC(y, m - 1, 1));
  const end = new Date(Date.UTC(y, m, 1));
  const to = end.getTime() > Date.now() ? new Date() : end;
  return { from: from.toISOString(), to: to.toISOString() };
}

export const month = signal(thisMonth());
export const report = signal<UsageReport | null>(null);
export const usageError = signal("");
export const csvUrl = computed(() => {
  const { from, to } = monthRange(month.value);
  return api.usageUrl(from, to, "csv");
});

let asked = 0;
export async function loadUsage(m: string = month.value) {
  month.value = m;
  const n = ++asked;
  const { from, to } = monthRange(m);
  try {
    const r = await api.usage(from, to);
    if (n === asked) (report.value = r), (usageError.value = "");
  } catch (e) {
    if (n === asked) usageError.value = errorText(e);
  }
}

/** Per project per day (UTC): unix-seconds days and one column per project, for the charts. */
export const daily = computed(() => {
  const r = report.value;
  if (!r) return null;
  const days = new Map<number, number>();
  const { from, to } = r;
  for (let t = Math.floor(Date.parse(from) / 86400_000) * 86400; t * 1000 < Date.parse(to); t += 86400) days.set(t, days.size);
  const t = [...days.keys()];
  const byProject = new Map<string, { name: string; cpu: (number | null)[]; mem: (number | null)[] }>();
  for (const p of r.projects) byProject.set(p.project_id, { name: p.project_name ?? `${p.project_id.slice(0, 8)} (deleted)`, cpu: t.map(() => 0), mem: t.map(() => 0) });
  for (const row of r.rows) {
    const i = days.get(Math.floor(Date.parse(row.hour) / 86400_000) * 86400);
    const p = byProject.get(row.project_id);
    if (i === undefined || !p) continue;
    p.cpu[i]! += row.cpu_seconds / 3600;
    p.mem[i]! += row.memory_mb_hours / 1024;
  }
  return { t, projects: [...byProject.values()] };
});

onSignOut(() => (report.value = null));
