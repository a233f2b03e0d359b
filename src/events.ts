/**
 * In-process notifications between features: a deployment changed state, log
 * lines arrived, routes must be reloaded. The database stays the record; these
 * only wake up whoever waits (log followers, the ingress, the scheduler).
 */
import type { DeploymentStatus, MessageBody } from "./protocol/hub";

export type EventMap = {
  deployment: { deployment_id: string; project_id: string; status: DeploymentStatus };
  log: { deployment_id: string; stream: "build" | "runtime" | "system"; lines: string[] };
  worker: { worker_id: string; status: "online" | "offline" };
  routes: Record<string, never>;
  schedule: Record<string, never>;
  /** A worker's stats batch arrived (the hub emits it): the alert evaluator reads it. */
  stats: { worker_id: string; samples: MessageBody<"stats">["samples"] };
  /** An alert changed state (pending, firing, resolved): for live dashboard views. */
  alert: { alert_id: string; rule_id: string; status: "pending" | "firing" | "resolved"; project_id: string | null };
};

type Listener<K extends keyof EventMap> = (e: EventMap[K]) => unknown;

export class Events {
  private listeners = new Map<keyof EventMap, Set<(e: never) => void>>();

  on<K extends keyof EventMap>(type: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(fn as (e: never) => void);
    return () => set.delete(fn as (e: never) => void);
  }

  emit<K extends keyof EventMap>(type: K, e: EventMap[K]): void {
    void this.emitAndWait(type, e);
  }

  /**
   * Emits and resolves once every listener's work is done, e.g. the ingress
   * has reloaded its routes, so an API answer can promise the change is live.
   */
  async emitAndWait<K extends keyof EventMap>(type: K, e: EventMap[K]): Promise<void> {
    const pending: Promise<unknown>[] = [];
    for (const fn of (this.listeners.get(type) ?? []) as Set<Listener<K>>) {
      try {
        const r = fn(e);
        if (r instanceof Promise) pending.push(r.catch((err) => console.error(`[events] ${type} listener failed:`, err)));
      } catch (err) {
        console.error(`[events] ${type} listener failed:`, err);
      }
    }
    await Promise.all(pending);
  }
}
