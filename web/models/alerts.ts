/**
 * Alerts, alert rules and notification channels. The alerts list refreshes on
 * the live `alert` event; a webhook's secret is kept only until the person
 * leaves the page (the API shows it once).
 */
import { signal } from "@preact/signals";
import { api, type AlertView, type Channel, type ChannelCreate, type Rule, type RuleCreate, type RulePatch, type TestResult } from "../api";
import { onAlert, onResync } from "./live";
import { onSignOut } from "./session";
import { action, errorText, formErrors, submitForm, type Action } from "./util";

export const alerts = signal<AlertView[] | null>(null);
export const alertsError = signal("");
export const rules = signal<Rule[] | null>(null);
export const channels = signal<Channel[] | null>(null);
export const listError = signal("");

export async function loadAlerts() {
  try {
    alerts.value = (await api.alerts({ limit: 100 })).alerts;
    alertsError.value = "";
  } catch (e) {
    alertsError.value = errorText(e);
  }
}

export async function loadAlertSettings() {
  try {
    const [r, c] = await Promise.all([api.alertRules(), api.channels()]);
    rules.value = r.rules;
    channels.value = c.channels;
    listError.value = "";
  } catch (e) {
    listError.value = errorText(e);
  }
}

const actions = new Map<string, Action>();
export function actionOf(key: string): Action {
  let a = actions.get(key);
  if (!a) actions.set(key, (a = action()));
  return a;
}

const replaceAlert = (a: AlertView | undefined) => {
  if (a && alerts.value) alerts.value = alerts.value.map((x) => (x.id === a.id ? a : x));
};
export const ack = async (id: string) => replaceAlert(await actionOf(`ack:${id}`).run(() => api.ackAlert(id)));
/** `until` from a datetime-local input (local time); empty lifts the silence. */
export const silence = async (id: string, until: string) =>
  replaceAlert(await actionOf(`silence:${id}`).run(() => api.silenceAlert(id, until ? new Date(until).toISOString() : null)));

// ---- rules ----------------------------------------------------------------

export const KIND_LABELS: Record<Rule["kind"], string> = {
  cpu_high: "CPU high",
  memory_high: "Memory high",
  crash_loop: "Crash loop",
  deployment_failed: "Deployment failed",
  worker_offline: "Worker offline",
  worker_disk_high: "Worker disk high",
  domain_lost: "Domain verification lost",
};
/** The parameters each kind takes, with their labels and defaults. */
export const KIND_PARAMS: Record<Rule["kind"], [key: "threshold_percent" | "restarts" | "window_minutes", label: string, def: number][]> = {
  cpu_high: [["threshold_percent", "Threshold (% of the CPU limit)", 90]],
  memory_high: [["threshold_percent", "Threshold (% of the memory limit)", 90]],
  crash_loop: [
    ["restarts", "Restarts", 3],
    ["window_minutes", "Within (minutes)", 5],
  ],
  deployment_failed: [],
  worker_offline: [],
  worker_disk_high: [["threshold_percent", "Threshold (% of the disk)", 90]],
  domain_lost: [],
};

export const ruleForm = formErrors();
export const ruleSaved = signal("");

export async function createRule(input: RuleCreate): Promise<boolean> {
  ruleSaved.value = "";
  const r = await submitForm(ruleForm, ["name", "params", "params.threshold_percent", "params.restarts", "params.window_minutes", "for_minutes", "project_id", "channel_ids"], () =>
    api.createAlertRule(input),
  );
  if (!r) return false;
  rules.value = [...(rules.value ?? []), r];
  ruleSaved.value = `Rule "${r.name}" created.`;
  return true;
}

export async function patchRule(id: string, p: RulePatch) {
  const r = await actionOf(`rule:${id}`).run(() => api.patchAlertRule(id, p));
  if (r && rules.value) rules.value = rules.value.map((x) => (x.id === r.id ? r : x));
}

export async function deleteRule(id: string) {
  const ok = await actionOf(`rule:${id}`).run(async () => (await api.deleteAlertRule(id), true));
  if (ok && rules.value) rules.value = rules.value.filter((x) => x.id !== id);
}

// ---- channels -------------------------------------------------------------

export const channelForm = formErrors();
/** The secret of the webhook just created (shown once). */
export const newSecret = signal<{ name: string; secret: string } | null>(null);
export const testResults = signal<Record<string, TestResult>>({});

export async function createChannel(input: ChannelCreate): Promise<boolean> {
  newSecret.value = null;
  const c = await submitForm(channelForm, ["name", "url", "secret", "to"], () => api.createChannel(input));
  if (!c) return false;
  const { secret, ...rest } = c;
  if (secret) newSecret.value = { name: c.name, secret };
  channels.value = [...(channels.value ?? []), rest];
  return true;
}

export async function toggleChannel(c: Channel) {
  const r = await actionOf(`channel:${c.id}`).run(() => api.patchChannel(c.id, { enabled: !c.enabled }));
  if (r && channels.value) channels.value = channels.value.map((x) => (x.id === r.id ? r : x));
}

export async function deleteChannel(id: string) {
  const ok = await actionOf(`channel:${id}`).run(async () => (await api.deleteChannel(id), true));
  if (ok && channels.value) channels.value = channels.value.filter((x) => x.id !== id);
}

export async function testChannel(id: string) {
  const r = await actionOf(`test:${id}`).run(() => api.testChannel(id));
  if (r) testResults.value = { ...testResults.value, [id]: r };
}

let queued = false;
const refresh = () => {
  if (!alerts.value || queued) return;
  queued = true;
  setTimeout(() => ((queued = false), void loadAlerts()), 200);
};
onAlert(refresh);
onResync(refresh);
onSignOut(() => {
  alerts.value = rules.value = channels.value = null;
  newSecret.value = null;
  testResults.value = {};
});
