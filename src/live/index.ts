/**
 * GET /v1/events: server-sent events for open dashboard pages — a deployment
 * changing state (for projects the caller may see) and, for admins, workers
 * going online or offline. Authenticated like any route (the session cookie
 * in the browser), never by a token in the URL.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import type { AuthUser } from "../auth";

const KEEPALIVE_MS = 15_000;

/** Whether `user` may see events of `projectId` (owner or admin). */
async function canSee(ctx: AppContext, user: AuthUser, projectId: string): Promise<boolean> {
  if (user.role === "admin") return true;
  const [p] = await ctx.sql`SELECT 1 FROM projects WHERE id = ${projectId} AND owner_id = ${user.id}`;
  return p !== undefined;
}

export function liveStream(ctx: AppContext, user: AuthUser, signal: AbortSignal): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let cleanup = () => {};
  return new ReadableStream({
    start(controller) {
      const send = (event: string, data: unknown) => {
        try {
          controller.enqueue(enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        } catch {
          cleanup();
        }
      };
      send("hello", { user_id: user.id });
      const offs = [
        ctx.events.on("deployment", async (e) => {
          if (await canSee(ctx, user, e.project_id)) send("deployment", e);
        }),
        ctx.events.on("worker", (e) => {
          if (user.role === "admin") send("worker", e);
        }),
        ctx.events.on("alert", async (e) => {
          if (e.project_id ? await canSee(ctx, user, e.project_id) : user.role === "admin") send("alert", e);
        }),
      ];
      // A comment line now and then keeps proxies and the idle timeout from closing a quiet stream.
      const keepalive = setInterval(() => {
        try {
          controller.enqueue(enc.encode(": keepalive\n\n"));
        } catch {
          cleanup();
        }
      }, KEEPALIVE_MS);
      cleanup = () => {
        clearInterval(keepalive);
        offs.forEach((off) => off());
        try {
          controller.close();
        } catch {}
      };
      signal.addEventListener("abort", () => cleanup());
    },
    cancel() {
      cleanup();
    },
  });
}

export function livePlugin(ctx: AppContext) {
  return new Elysia({ prefix: "/v1/events" }).use(authPlugin(ctx)).get(
    "/",
    ({ user, request, server }) => {
      server?.timeout(request, 0);
      return new Response(liveStream(ctx, user, request.signal), {
        headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" },
      });
    },
    { auth: "read", detail: { summary: "Server-sent events: deployment and worker status changes" } },
  );
}
