/**
 * GET /v1/workers/ws: the socket agents dial into. The upgrade needs a valid
 * worker JWT in the Authorization header; every frame after that must be a
 * sealed envelope (MAC, timestamp, fresh nonce) or it is dropped and logged.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { errorJson } from "../http/errors";
import { NonceCache, open, type MessageBody } from "../protocol/hub";
import { onJobStatus, onLog } from "../deployments/lifecycle";
import { onStats } from "../metrics/service";
import { verifyWorkerToken } from "../workers/jwt";
import { authenticateWorker, onHello } from "../workers/service";
import { markOffline } from "../workers/queries";
import { heartbeatBatcher } from "./heartbeats";
import type { HubSocket } from "./service";
import { audit, SYSTEM_ACTOR } from "../audit/service";

type ConnState = { workerId: string; workerName: string; macKey: Buffer; nonces: NonceCache; queue: Promise<void> };

export function hubPlugin(ctx: AppContext) {
  const heartbeats = heartbeatBatcher(ctx);
  // Keyed by Bun's socket object, which stays the same for the connection's life.
  const states = new WeakMap<object, Promise<ConnState | null>>();

  async function handle(ws: HubSocket, s: ConnState, type: string, body: unknown, id: string) {
    switch (type) {
      case "hello":
        await onHello(ctx, s.workerId, body as MessageBody<"hello">);
        break;
      case "heartbeat":
        heartbeats.record(s.workerId);
        ctx.hub.send(s.workerId, "ack", { id });
        break;
      case "job.status":
        await onJobStatus(ctx, s.workerId, body as MessageBody<"job.status">);
        break;
      case "log":
        await onLog(ctx, s.workerId, body as MessageBody<"log">);
        break;
      case "stats":
        // Stored as metrics (one INSERT per batch), then offered to the alert evaluator.
        await onStats(ctx, s.workerId, body as MessageBody<"stats">);
        ctx.events.emit("stats", { worker_id: s.workerId, samples: (body as MessageBody<"stats">).samples });
        break;
      case "auth.refresh": {
        const v = await verifyWorkerToken(ctx.config.masterKey, (body as MessageBody<"auth.refresh">).token);
        if (!v || v.workerId !== s.workerId) {
          console.warn(`[hub] worker ${s.workerName}: refused token refresh`);
          ws.close(4001, "invalid refreshed token");
        } else ctx.hub.extend(s.workerId, ws, v.expiresAt);
        break;
      }
      default:
        console.warn(`[hub] worker ${s.workerName}: unexpected message ${type}`);
    }
  }

  return new Elysia().ws("/v1/workers/ws", {
    async beforeHandle({ headers }) {
      try {
        await authenticateWorker(ctx, headers.authorization);
      } catch {
        return errorJson(401, "unauthorized", "invalid or expired worker token");
      }
    },
    open(ws) {
      const raw = ws.raw as object;
      const state = (async () => {
        try {
          const { worker, expiresAt } = await authenticateWorker(ctx, (ws.data as { headers: Record<string, string | undefined> }).headers.authorization);
          // The MAC key is sha256(api key); the control plane stores exactly that as api_key_hash.
          const macKey = Buffer.from(worker.api_key_hash, "hex");
          ctx.hub.attach(worker.id, ws.raw as unknown as HubSocket, macKey, expiresAt);
          return { workerId: worker.id, workerName: worker.name, macKey, nonces: new NonceCache(), queue: Promise.resolve() };
        } catch {
          ws.close(4001, "unauthorized");
          return null;
        }
      })();
      states.set(raw, state);
    },
    async message(ws, message) {
      const s = await states.get(ws.raw as object);
      if (!s) return;
      const r = open(s.macKey, message as string | object, s.nonces);
      if (!r.ok) {
        console.warn(`[hub] worker ${s.workerName}: rejected envelope (${r.reason})`);
        return;
      }
      // One message at a time per worker, in the order sent.
      s.queue = s.queue
        .then(() => handle(ws.raw as unknown as HubSocket, s, r.type, r.body, r.envelope.id))
        .catch((e) => console.error(`[hub] worker ${s.workerName}: ${r.type} failed:`, e));
    },
    async close(ws) {
      const s = await states.get(ws.raw as object);
      if (!s) return;
      if (ctx.hub.detach(s.workerId, ws.raw as unknown as HubSocket)) {
        await markOffline(ctx.sql, s.workerId).catch(() => {});
        await audit(ctx.sql, SYSTEM_ACTOR, "worker.offline", { target_type: "worker", target_id: s.workerId, detail: { reason: "disconnected" } }).catch(() => {});
        ctx.events.emit("worker", { worker_id: s.workerId, status: "offline" });
      }
    },
  });
}
