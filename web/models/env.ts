/**
 * A project's environment as an editable table. Values arrive masked; a row
 * can be revealed (GET ?reveal=true). Edits stay local until Save, which PUTs
 * the whole set (the API replaces all): values nobody touched are taken from
 * a revealed read first, so saving never writes a mask back.
 */
import { computed, signal } from "@preact/signals";
import { api } from "../api";
import { onSignOut } from "./session";
import { errorText } from "./util";

/** The rule the API applies to keys (src/protocol/api.ts ENV_KEY). */
export const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;

export type EnvRow = {
  /** stable row id for keys in lists */ rid: number;
  key: string;
  /** the key as saved; null for a new row */ savedKey: string | null;
  /** the value as edited; null = unchanged since load (masked unless revealed) */ value: string | null;
  masked: string;
  /** Also given to the build as a build argument. */
  build: boolean;
  savedBuild: boolean;
};

let rid = 0;
export const envProject = signal<string | null>(null);
export const rows = signal<EnvRow[]>([]);
export const removed = signal<string[]>([]);
export const revealed = signal<Record<string, string>>({});
/** Keys whose value the person chose to see. */
export const shown = signal<Record<string, boolean>>({});
export const envLoading = signal(false);
export const envError = signal("");
export const envSaving = signal(false);
export const envSaved = signal(false);

export const dirty = computed(
  () => removed.value.length > 0 || rows.value.some((r) => r.savedKey === null || r.key !== r.savedKey || r.value !== null || r.build !== r.savedBuild),
);

/** Problems the API would refuse, found before sending. */
export const problems = computed(() => {
  const out: Record<number, string> = {};
  const seen = new Set<string>();
  for (const r of rows.value) {
    if (!ENV_KEY.test(r.key)) out[r.rid] = "Use A–Z, 0–9 and _, not starting with a digit.";
    else if (seen.has(r.key)) out[r.rid] = "This name is used twice.";
    else if (r.value !== null && /[\0\r\n]/.test(r.value)) out[r.rid] = "Values can't hold line breaks.";
    seen.add(r.key);
  }
  return out;
});

export async function loadEnv(projectId: string) {
  envProject.value = projectId;
  envLoading.value = true;
  envError.value = "";
  try {
    const v = await api.env(projectId, false);
    rows.value = Object.entries(v.vars)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, masked]) => ({ rid: ++rid, key, savedKey: key, value: null, masked, build: v.build.includes(key), savedBuild: v.build.includes(key) }));
    removed.value = [];
    revealed.value = {};
    shown.value = {};
  } catch (e) {
    envError.value = errorText(e);
  } finally {
    envLoading.value = false;
  }
}

async function fetchRevealed(projectId: string) {
  const v = await api.env(projectId, true);
  revealed.value = v.vars;
  return v.vars;
}

/** Shows one row's real value (or hides it again). */
export async function toggleReveal(key: string) {
  if (shown.value[key]) return void (shown.value = { ...shown.value, [key]: false });
  const id = envProject.value;
  if (!id) return;
  try {
    if (!(key in revealed.value)) await fetchRevealed(id);
    shown.value = { ...shown.value, [key]: true };
  } catch (e) {
    envError.value = errorText(e);
  }
}

export function editRow(r: EnvRow, patch: Partial<Pick<EnvRow, "key" | "value" | "build">>) {
  envSaved.value = false;
  rows.value = rows.value.map((x) => (x.rid === r.rid ? { ...x, ...patch } : x));
}

/** Starts editing a saved value: the real value, fetched if needed, becomes the edit text. */
export async function beginEdit(r: EnvRow) {
  if (r.value !== null || r.savedKey === null) return;
  const id = envProject.value;
  if (!id) return;
  try {
    const vars = r.savedKey in revealed.value ? revealed.value : await fetchRevealed(id);
    editRow(r, { value: vars[r.savedKey] ?? "" });
    shown.value = { ...shown.value, [r.key]: true };
  } catch (e) {
    envError.value = errorText(e);
  }
}

export function addRow(key = "", value = "") {
  envSaved.value = false;
  rows.value = [...rows.value, { rid: ++rid, key, savedKey: null, value, masked: "", build: false, savedBuild: false }];
}

export function deleteRow(r: EnvRow) {
  envSaved.value = false;
  rows.value = rows.value.filter((x) => x.rid !== r.rid);
  if (r.savedKey !== null) removed.value = [...removed.value, r.savedKey];
}

/** Parses .env text: KEY=VALUE lines, `export ` prefixes, # comments, quoted values. */
export function parseDotenv(text: string): { vars: [string, string][]; bad: number[] } {
  const vars: [string, string][] = [];
  const bad: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) return void bad.push(i + 1);
    let v = m[2]!;
    const q = v[0];
    if ((q === '"' || q === "'") && v.length >= 2 && v.endsWith(q)) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    } else v = v.replace(/\s+#.*$/, "");
    vars.push([m[1]!, v]);
  });
  return { vars, bad };
}

/** Adds or replaces rows from pasted .env text; returns a summary for the person. */
export function pasteDotenv(text: string): string {
  const { vars, bad } = parseDotenv(text);
  envSaved.value = false;
  let next = rows.value;
  let added = 0;
  let changed = 0;
  for (const [key, value] of vars) {
    const i = next.findIndex((r) => r.key === key);
    if (i >= 0) {
      next = next.map((r, j) => (j === i ? { ...r, value } : r));
      changed++;
    } else {
      next = [...next, { rid: ++rid, key, savedKey: null, value, masked: "", build: false, savedBuild: false }];
      added++;
    }
  }
  rows.value = next;
  const parts = [`${added} added`, `${changed} changed`];
  if (bad.length) parts.push(`lines ${bad.join(", ")} skipped (not KEY=VALUE)`);
  return parts.join(", ") + ". Not saved yet.";
}

/** PUT the whole set; values never edited come from a revealed read. */
export async function saveEnv() {
  const id = envProject.value;
  if (!id || Object.keys(problems.value).length) return;
  envSaving.value = true;
  envError.value = "";
  envSaved.value = false;
  try {
    const needOld = rows.value.some((r) => r.value === null);
    const old = needOld ? await fetchRevealed(id) : revealed.value;
    const vars: Record<string, string> = {};
    for (const r of rows.value) vars[r.key] = r.value ?? old[r.savedKey ?? r.key] ?? "";
    await api.putEnv(id, vars, rows.value.filter((r) => r.build).map((r) => r.key));
    await loadEnv(id);
    envSaved.value = true;
  } catch (e) {
    envError.value = errorText(e);
  } finally {
    envSaving.value = false;
  }
}

onSignOut(() => {
  envProject.value = null;
  rows.value = [];
  removed.value = [];
  revealed.value = {};
  shown.value = {};
});
