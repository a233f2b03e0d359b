/**
 * Live updates: one EventSource on /v1/events while signed in. The server
 * pushes `deployment` and `worker` status changes; models subscribe here. The
 * browser reconnects by itself after a network error; when the server closes
 * the stream for good (EventSource gives up on a non-200 answer) we check the
 * session and reconnect with a backoff. While disconnected `down` is true
 * (the banner), and on reconnect every subscriber resyncs what it shows.
 */
import { signal } from "@preact/signals";
import type { LiveDeployment, LiveWorker } from "../shapes";

/** True while the live connection is down (after it was asked for). */
export const down = signal(false);

/** `event: alert`: an alert changed status. */
export type LiveAlert = { alert_id: string; rule_id: string; status: string; project_id: string | null };
type Handlers = { deployment: ((e: LiveDeployment) => void)[]; worker: ((e: LiveWorker) => void)[]; alert: ((e: LiveAlert) => void)[]; resync: (() => void)[] };
const handlers: Handlers = { deployment: [], worker: [], alert: [], resync: [] };

export const onDeployment = (fn: (e: LiveDeployment) => void) => void handlers.deployment.push(fn);
export const onWorker = (fn: (e: LiveWorker) => void) => void handlers.worker.push(fn);
export const onAlert = (fn: (e: LiveAlert) => void) => void handlers.alert.push(fn);
/** Called after the connection comes back: events may have been missed. */
export const onResync = (fn: () => void) => void handlers.resync.push(fn);

let source: EventSource | null = null;
let retry: ReturnType<typeof setTimeout> | null = null;
let downTimer: ReturnType<typeof setTimeout> | null = null;
let backoff = 1000;
let wasOpen = false;
let checkSession: () => Promise<boolean> = async () => true;

/** `sessionAlive` answers whether we are still signed in (false: stop, the session model takes over). */
export function startLive(sessionAlive: () => Promise<boolean>) {
  checkSession = sessionAlive;
  if (source) return;
  connect();
}

export function stopLive() {
  if (retry) clearTimeout(retry);
  if (downTimer) clearTimeout(downTimer);
  retry = downTimer = null;
  source?.close();
  source = null;
  wasOpen = false;
  down.value = false;
}

function parse<T>(e: Event): T | null {
  try {
    return JSON.parse((e as MessageEvent<string>).data) as T;
  } catch {
    return null;
  }
}

function connect() {
  const es = new EventSource("/v1/events");
  source = es;
  es.onopen = () => {
    if (downTimer) clearTimeout(downTimer);
    downTimer = null;
    backoff = 1000;
    const resync = wasOpen || down.value;
    wasOpen = true;
    down.value = false;
    if (resync) for (const fn of handlers.resync) fn();
  };
  es.addEventListener("deployment", (e) => {
    const d = parse<LiveDeployment>(e);
    if (d) for (const fn of handlers.deployment) fn(d);
  });
  es.addEventListener("worker", (e) => {
    const w = parse<LiveWorker>(e);
    if (w) for (const fn of handlers.worker) fn(w);
  });
  es.addEventListener("alert", (e) => {
    const a = parse<LiveAlert>(e);
    if (a) for (const fn of handlers.alert) fn(a);
  });
  es.onerror = () => {
    if (source !== es) return;
    // A blip that reconnects at once shows no banner; anything longer does.
    if (!downTimer && !down.value) downTimer = setTimeout(() => ((downTimer = null), (down.value = source !== null)), 1500);
    if (es.readyState !== EventSource.CLOSED) return; // the browser is retrying by itself
    es.close();
    source = null;
    void checkSession().then((alive) => {
      if (!alive) return stopLive();
      down.value = true;
      retry = setTimeout(() => {
        retry = null;
        if (!source) connect();
      }, backoff);
      backoff = Math.min(backoff * 2, 30_000);
    });
  };
}
