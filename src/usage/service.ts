/**
 * Usage: per project per hour, CPU-seconds, memory MB-hours (limit held and
 * actually used), network bytes in and out, build minutes and running
 * container-hours; as JSON or CSV. Members see their own projects (also
 * deleted ones), admins everyone's with totals per user.
 *
 * Figures come from the 1-hour container rollups (kept 400 days) and the
 * build_usage table. Each hour's figures are rounded once and every total is
 * the sum of the rounded hours, so the hours always add up to the totals.
 */
import type { AppContext } from "../context";
import { BadRequest } from "../http/errors";
import type { AuthUser } from "../auth";
import { getProject } from "../projects/service";
import type { UsageFigures, UsageQuery, UsageReport, UsageRow } from "./model";
import { usageHours } from "./queries";

const HOUR_MS = 3600_000;
/** Most hour rows one report holds: beyond, narrow the window or pick a project. */
export const MAX_USAGE_ROWS = 50_000;
const MAX_SPAN_MS = 400 * 86400_000;
const MiB = 1024 * 1024;

const DIGITS: Record<keyof UsageFigures, number> = {
  cpu_seconds: 3,
  memory_limit_mb_hours: 4,
  memory_mb_hours: 4,
  net_rx_bytes: 0,
  net_tx_bytes: 0,
  build_minutes: 4,
  container_hours: 4,
};
const FIGURES = Object.keys(DIGITS) as (keyof UsageFigures)[];

const round = (n: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

const zero = (): UsageFigures => ({
  cpu_seconds: 0,
  memory_limit_mb_hours: 0,
  memory_mb_hours: 0,
  net_rx_bytes: 0,
  net_tx_bytes: 0,
  build_minutes: 0,
  container_hours: 0,
});

function add(into: UsageFigures, row: UsageFigures): void {
  for (const k of FIGURES) into[k] = round(into[k] + row[k], DIGITS[k]);
}

/** The report's window: whole hours; default the current calendar month (UTC) up to now. */
export function usageWindow(q: Pick<UsageQuery, "from" | "to">, now = Date.now()): { from: Date; to: Date } {
  const d = new Date(now);
  const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const from = Math.floor((q.from ? Date.parse(q.from) : monthStart) / HOUR_MS) * HOUR_MS;
  const to = Math.ceil((q.to ? Date.parse(q.to) : now) / HOUR_MS) * HOUR_MS;
  if (!(from < to)) throw new BadRequest("from: must be before to");
  if (to - from > MAX_SPAN_MS) throw new BadRequest("from: the window may span at most 400 days");
  return { from: new Date(from), to: new Date(to) };
}

export async function report(ctx: AppContext, user: AuthUser, q: UsageQuery): Promise<UsageReport> {
  const { from, to } = usageWindow(q);
  if (q.project) await getProject(ctx, user, q.project); // another user's project is a 404
  const admin = user.role === "admin";
  const owner = admin ? q.user : user.id;
  const raw = await usageHours(ctx.sql, { from, to, owner_id: owner, project_id: q.project }, MAX_USAGE_ROWS + 1);
  if (raw.length > MAX_USAGE_ROWS)
    throw new BadRequest(`from: more than ${MAX_USAGE_ROWS} project-hours in this window; narrow it or choose a project`);

  const rows: UsageRow[] = raw.map((r) => ({
    hour: r.hour.toISOString(),
    project_id: r.project_id,
    project_name: r.project_name,
    owner_id: r.owner_id,
    cpu_seconds: round(r.cpu_seconds, DIGITS.cpu_seconds),
    memory_limit_mb_hours: round(r.mem_limit_byte_seconds / MiB / 3600, DIGITS.memory_limit_mb_hours),
    memory_mb_hours: round(r.mem_byte_seconds / MiB / 3600, DIGITS.memory_mb_hours),
    net_rx_bytes: Math.round(r.net_rx_bytes),
    net_tx_bytes: Math.round(r.net_tx_bytes),
    build_minutes: round(r.build_seconds / 60, DIGITS.build_minutes),
    container_hours: round(r.container_seconds / 3600, DIGITS.container_hours),
  }));

  const total = zero();
  const projects = new Map<string, UsageReport["projects"][number]>();
  const users = new Map<string, NonNullable<UsageReport["users"]>[number]>();
  raw.forEach((r, i) => {
    const row = rows[i]!;
    add(total, row);
    let p = projects.get(row.project_id);
    if (!p) projects.set(row.project_id, (p = { project_id: row.project_id, project_name: row.project_name, owner_id: row.owner_id, ...zero() }));
    add(p, row);
    let u = users.get(row.owner_id);
    if (!u) users.set(row.owner_id, (u = { user_id: row.owner_id, email: r.email, ...zero() }));
    add(u, row);
  });
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    rows,
    projects: [...projects.values()].sort((a, b) => (a.project_name ?? "\uffff").localeCompare(b.project_name ?? "\uffff")),
    total,
    ...(admin ? { users: [...users.values()].sort((a, b) => (a.email ?? "").localeCompare(b.email ?? "")) } : {}),
  };
}

const CSV_COLUMNS = ["hour", "project_id", "project_name", "owner_id", ...FIGURES] as const;

/** One CSV field: quoted when needed; a leading = + - @ is neutralised (spreadsheet formulas). */
export function csvField(v: string | number | null): string {
  if (v === null) return "";
  if (typeof v === "number") return String(v);
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The hour rows as CSV (RFC 4180, CRLF line ends), header first. */
export function toCsv(r: UsageReport): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const row of r.rows) lines.push(CSV_COLUMNS.map((c) => csvField(row[c])).join(","));
  return lines.join("\r\n") + "\r\n";
}
