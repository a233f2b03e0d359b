/**
 * /v1/alert-rules and /v1/alerts (and, through notificationsPlugin,
 * /v1/notification-channels); startAlertJobs runs the evaluator and the
 * outbox sender in the background.
 */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { idParam } from "../protocol/api";
import { notificationsPlugin } from "../notifications";
import { startOutboxSender, type SenderOptions } from "../notifications/service";
import { alert, alertQuery, rule, ruleCreate, rulePatch, silenceBody } from "./model";
import * as alerts from "./service";
import { Evaluator } from "./evaluator";

export function alertsPlugin(ctx: AppContext) {
  const rules = new Elysia({ prefix: "/v1/alert-rules", tags: ["alerts"] } as never)
    .use(authPlugin(ctx))
    .get("/", async ({ user, query }) => ({ rules: await alerts.listRulesFor(ctx, user, query.project) }), {
      auth: "read",
      query: z.object({ project: z.string().uuid("must be a UUID").optional() }).strict(),
      response: z.object({ rules: z.array(rule) }),
      detail: { summary: "Alert rules: an admin sees the global ones and every project's; a member their projects'" },
    })
    .post(
      "/",
      async ({ user, body, set }) => {
        set.status = 201;
        return alerts.createRule(ctx, user, body);
      },
      {
        auth: "write",
        body: ruleCreate,
        response: { 201: rule },
        detail: { summary: "Create a rule: global (admin, no project_id) or for one of your projects" },
      },
    )
    .get("/:id", async ({ user, params }) => alerts.toRule(await alerts.getRule(ctx, user, params.id)), {
      auth: "read",
      params: idParam,
      response: rule,
      detail: { summary: "An alert rule" },
    })
    .patch("/:id", async ({ user, params, body }) => alerts.patchRule(ctx, user, params.id, body), {
      auth: "write",
      params: idParam,
      body: rulePatch,
      response: rule,
      detail: { summary: "Change a rule: name, params, for_minutes, enabled, silenced_until, channel_ids" },
    })
    .delete(
      "/:id",
      async ({ user, params, set }) => {
        await alerts.removeRule(ctx, user, params.id);
        set.status = 204;
        return null;
      },
      { auth: "write", params: idParam, detail: { summary: "Delete a rule and its alerts (built-in rules can only be disabled)" } },
    );

  const list = new Elysia({ prefix: "/v1/alerts", tags: ["alerts"] } as never)
    .use(authPlugin(ctx))
    .get("/", async ({ user, query }) => ({ alerts: await alerts.listAlertsFor(ctx, user, query) }), {
      auth: "read",
      query: alertQuery,
      response: z.object({ alerts: z.array(alert) }),
      detail: { summary: "Alerts, firing first then most recent (?status=open|pending|firing|resolved&project&rule&limit)" },
    })
    .get("/:id", async ({ user, params }) => alerts.toAlert(await alerts.getAlert(ctx, user, params.id)), {
      auth: "read",
      params: idParam,
      response: alert,
      detail: { summary: "An alert" },
    })
    .post("/:id/ack", async ({ user, params }) => alerts.ack(ctx, user, params.id), {
      auth: "write",
      params: idParam,
      response: alert,
      detail: { summary: "Acknowledge an alert (the first acknowledgement stands)" },
    })
    .post("/:id/silence", async ({ user, params, body }) => alerts.silence(ctx, user, params.id, body.until), {
      auth: "write",
      params: idParam,
      body: silenceBody,
      response: alert,
      detail: { summary: "No notifications for this alert until a time ({until: ISO date-time}, or null to end the silence)" },
    });

  return new Elysia().use(rules).use(list).use(notificationsPlugin(ctx));
}

export type AlertJobOptions = SenderOptions & {
  /** How often every rule is evaluated (default 5 s); deployment and worker events also trigger a pass. */
  evalIntervalMs?: number;
};

/**
 * The background work: the evaluator (fed by the hub's `stats` events and
 * woken by `deployment` and `worker` events) and the outbox sender.
 */
export function startAlertJobs(ctx: AppContext, opts: AlertJobOptions = {}) {
  const sender = startOutboxSender(ctx, opts);
  const evaluator = new Evaluator(ctx, () => sender.kick());
  let soon: ReturnType<typeof setTimeout> | null = null;
  const nudge = () => {
    soon ??= setTimeout(() => {
      soon = null;
      void evaluator.schedule();
    }, 200);
  };
  const offs = [
    ctx.events.on("stats", (e) => evaluator.observe(e)),
    ctx.events.on("deployment", (e) => {
      if (e.status === "failed" || e.status === "running" || e.status === "stopped" || e.status === "superseded") nudge();
    }),
    ctx.events.on("worker", () => nudge()),
  ];
  const timer = setInterval(() => void evaluator.schedule(), opts.evalIntervalMs ?? 5000);
  void evaluator.schedule();
  return {
    evaluator,
    /** Evaluates now; resolves when that pass is done (tests). */
    evaluateNow: () => evaluator.schedule(),
    async stop() {
      clearInterval(timer);
      if (soon) clearTimeout(soon);
      offs.forEach((off) => off());
      await evaluator.idle();
      await sender.stop();
    },
  };
}
