/**
 * The log view: one deployment's log text, followed over a streaming fetch
 * of ?follow=live (no polling; it stays open while the deployment runs). Lines live in a plain array, not in signals —
 * 100,000 of them are fine — and `version` ticks at most once a frame when
 * new lines arrived; the view renders only the rows in sight. Search keeps
 * the indices of matching lines, scanning only lines it hasn't seen.
 */
import { computed, signal } from "@preact/signals";
import { api } from "../api";
import { onSignOut } from "./session";
import { errorText } from "./util";

export const logDeployment = signal<string | null>(null);
/** Bumped whenever lines were added or reset (once a frame at most). */
export const version = signal(0);
export const following = signal(false);
export const logError = signal("");
export const searchText = signal("");

let lines: string[] = [];
let partial = "";
let ctrl: AbortController | null = null;
let frame = 0;

export const lineCount = () => lines.length;
export const lineAt = (i: number) => lines[i] ?? "";

function tick() {
  if (frame) return;
  const bump = () => {
    frame = 0;
    version.value++;
  };
  frame = typeof requestAnimationFrame === "function" && document.visibilityState === "visible" ? requestAnimationFrame(bump) : (setTimeout(bump, 50) as unknown as number);
}

/** Appends streamed text: whole lines go in, a trailing partial line waits for its end. */
export function appendText(text: string) {
  const parts = (partial + text).split("\n");
  partial = parts.pop() ?? "";
  for (let i = 0; i < parts.length; i++) lines.push(parts[i]!);
  tick();
}

function flush() {
  if (partial) lines.push(partial);
  partial = "";
  tick();
}

function reset() {
  ctrl?.abort();
  ctrl = null;
  lines = [];
  partial = "";
  scanned = 0;
  hits = [];
  following.value = false;
  logError.value = "";
  version.value++;
}

/** Shows and follows `deploymentId`'s log (no-op when it is already shown). */
export function openLog(deploymentId: string, force = false) {
  if (!force && logDeployment.value === deploymentId) return;
  reset();
  logDeployment.value = deploymentId;
  const c = (ctrl = new AbortController());
  following.value = true;
  api
    .followLogs(deploymentId, appendText, c.signal)
    .catch((e) => {
      if (!c.signal.aborted) logError.value = errorText(e);
    })
    .finally(() => {
      if (ctrl !== c) return;
      flush();
      following.value = false;
      ctrl = null;
    });
}

export function closeLog() {
  reset();
  logDeployment.value = null;
}

// Search: indices of matching lines, extended incrementally as lines arrive.
let scanned = 0;
let hits: number[] = [];
let hitsFor = "";

/** Indices of lines containing the search text (case-insensitive); null when not searching. */
export const matches = computed<number[] | null>(() => {
  void version.value;
  const q = searchText.value.trim().toLowerCase();
  if (!q) return null;
  if (q !== hitsFor) {
    hitsFor = q;
    hits = [];
    scanned = 0;
  }
  const out = hits.slice();
  for (let i = scanned; i < lines.length; i++) if (lines[i]!.toLowerCase().includes(q)) out.push(i);
  scanned = lines.length;
  hits = out;
  return out;
});

/** Saves the whole log as a file. */
export function downloadLog() {
  const id = logDeployment.value ?? "log";
  const blob = new Blob([lines.join("\n"), lines.length ? "\n" : ""], { type: "text/plain" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `deployment-${id.slice(0, 8)}.log`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

onSignOut(closeLog);
