/**
 * Heartbeats are kept in memory and written in one UPDATE for all workers
 * every second, instead of one write per heartbeat: thousands of agents cost
 * one statement a second. The silence timeout (30 s) dwarfs the delay.
 */
import type { AppContext } from "../context";
import { recordHeartbeats } from "../workers/queries";

export const FLUSH_EVERY_MS = 1000;

export function heartbeatBatcher(ctx: AppContext) {
  let pending = new Map<string, Date>();
  let flushing: Promise<void> | null = null;
  const flush = async () => {
    if (flushing || pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    flushing = recordHeartbeats(ctx.sql, [...batch.keys()], [...batch.values()])
      .catch((e) => {
        console.error("[hub] heartbeat flush failed:", e);
        for (const [id, at] of batch) if (!pending.has(id)) pending.set(id, at);
      })
      .finally(() => {
        flushing = null;
      });
    await flushing;
  };
  const timer = setInterval(() => void flush(), FLUSH_EVERY_MS);
  timer.unref?.();
  return {
    record(workerId: string) {
      pending.set(workerId, new Date());
    },
    flush,
    stop() {
      clearInterval(timer);
    },
  };
}
