/** Log text for GET /v1/deployments/:id/logs, optionally followed until the deployment settles. */
import type { AppContext } from "../context";
import { findDeployment, logLinesAfter } from "./queries";
import { SETTLED } from "./service";

const FOLLOW_LIMIT_MS = 30 * 60_000;

export async function logText(ctx: AppContext, deploymentId: string): Promise<string> {
  const out: string[] = [];
  let after = 0;
  for (;;) {
    const rows = await logLinesAfter(ctx.sql, deploymentId, after);
    for (const r of rows) out.push(r.line);
    if (rows.length < 5000) break;
    after = Number(rows[rows.length - 1]!.id);
  }
  return out.length ? out.join("\n") + "\n" : "";
}

/**
 * Streams the lines so far, then new ones as they are stored, and ends once
 * the deployment is settled and nothing more is waiting (with `live`, a
 * running deployment keeps streaming its runtime log). Woken by in-process
 * events, with a one-second re-check so it never depends on them alone.
 */
export function followLogs(ctx: AppContext, deploymentId: string, signal: AbortSignal, live = false): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    async start(controller) {
      let after = 0;
      let wake: (() => void) | null = null;
      const off = [
        ctx.events.on("log", (e) => e.deployment_id === deploymentId && wake?.()),
        ctx.events.on("deployment", (e) => e.deployment_id === deploymentId && wake?.()),
      ];
      const deadline = Date.now() + FOLLOW_LIMIT_MS;
      try {
        while (!signal.aborted && Date.now() < deadline) {
          const d = await findDeployment(ctx.sql, deploymentId);
          const rows = await logLinesAfter(ctx.sql, deploymentId, after);
          if (rows.length) {
            controller.enqueue(enc.encode(rows.map((r) => r.line).join("\n") + "\n"));
            after = Number(rows[rows.length - 1]!.id);
            continue;
          }
          // "live" keeps a running deployment's runtime log coming until it stops, fails or is replaced.
          if (!d || (SETTLED.has(d.status) && !(live && d.status === "running"))) break;
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 1000);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          wake = null;
        }
      } catch (e) {
        console.error("[logs] follow failed:", e);
      } finally {
        off.forEach((f) => f());
        controller.close();
      }
    },
  });
}
