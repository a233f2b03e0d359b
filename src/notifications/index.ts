/**
 * /v1/notification-channels: webhook, Slack and e-mail channels of the
 * caller (an admin sees everyone's), with "send test" and the delivery log.
 */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { idParam } from "../protocol/api";
import { channel, channelCreate, channelPatch, delivery, testResult } from "./model";
import * as channels from "./service";

export function notificationsPlugin(ctx: AppContext) {
  return new Elysia({ prefix: "/v1/notification-channels", tags: ["alerts"] } as never)
    .use(authPlugin(ctx))
    .get("/", async ({ user }) => ({ channels: await channels.list(ctx, user) }), {
      auth: "read",
      response: z.object({ channels: z.array(channel) }),
      detail: { summary: "Your notification channels (an admin: all)" },
    })
    .post(
      "/",
      async ({ user, body, set }) => {
        set.status = 201;
        return channels.create(ctx, user, body);
      },
      {
        auth: "write",
        body: channelCreate,
        response: { 201: channel },
        detail: { summary: "Create a channel: webhook (HMAC-signed JSON; its secret is in this answer only), Slack incoming webhook, or e-mail" },
      },
    )
    .get("/:id", async ({ user, params }) => channels.toChannel(await channels.get(ctx, user, params.id)), {
      auth: "read",
      params: idParam,
      response: channel,
      detail: { summary: "A notification channel" },
    })
    .patch("/:id", async ({ user, params, body }) => channels.patch(ctx, user, params.id, body), {
      auth: "write",
      params: idParam,
      body: channelPatch,
      response: channel,
      detail: { summary: "Change a channel (rotate_secret=true: a new webhook secret, in this answer only)" },
    })
    .delete(
      "/:id",
      async ({ user, params, set }) => {
        await channels.remove(ctx, user, params.id);
        set.status = 204;
        return null;
      },
      { auth: "write", params: idParam, detail: { summary: "Delete a channel (its queued deliveries go with it)" } },
    )
    .post("/:id/test", async ({ user, params }) => channels.sendTest(ctx, user, params.id), {
      auth: "write",
      params: idParam,
      response: testResult,
      detail: { summary: "Send a test notification now and report what the receiver answered" },
    })
    .get(
      "/:id/deliveries",
      async ({ user, params, query }) => ({ deliveries: await channels.deliveries(ctx, user, params.id, query.limit) }),
      {
        auth: "read",
        params: idParam,
        query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict(),
        response: z.object({ deliveries: z.array(delivery) }),
        detail: { summary: "The channel's recent deliveries: status, attempts, last error" },
      },
    );
}
