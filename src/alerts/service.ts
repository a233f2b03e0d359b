/**
 * Alert rules (global: admins; per project: its owner) and alerts (list,
 * acknowledge, silence). Every change is audited. The evaluator that opens
 * and resolves alerts lives in evaluator.ts.
 */
import type { AppContext } from "../context";
import { BadRequest, Conflict, Forbidden, NotFound } from "../http/errors";
import { audit, type Caller } from "../audit/service";
import { findProject } from "../projects/queries";
import { visibleChannelIds } from "../notifications/queries";
import { DEFAULT_FOR_MINUTES, ruleParams, WORKER_KINDS, type Alert, type AlertQuery, type Rule, type RuleCreate, type RulePatch, type RuleParams } from "./model";
import {
  ackAlert,
  deleteRule,
  findAlert,
  findRule,
  insertRule,
  listAlerts,
  listRules,
  setRuleChannels,
  silenceAlert,
  updateRule,
  type AlertRow,
  type RuleRow,
  type Viewer,
} from "./queries";

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function toRule(r: RuleRow): Rule {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    project_id: r.project_id,
    params: r.params as Record<string, number>,
    for_minutes: r.for_minutes,
    enabled: r.enabled,
    silenced_until: iso(r.silenced_until),
    channel_ids: r.channel_ids,
    builtin: r.builtin,
    created_by: r.created_by,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

export function toAlert(a: AlertRow): Alert {
  return {
    id: a.id,
    rule_id: a.rule_id,
    rule_name: a.rule_name,
    kind: a.kind,
    status: a.status,
    target_type: a.target_type,
    target_id: a.target_id,
    target_name: a.target_name,
    project_id: a.project_id,
    summary: a.summary,
    value: a.value,
    detail: a.detail,
    first_seen: a.first_seen.toISOString(),
    last_seen: a.last_seen.toISOString(),
    fired_at: iso(a.fired_at),
    resolved_at: iso(a.resolved_at),
    acked_at: iso(a.acked_at),
    acked_by: a.acked_by,
    silenced_until: iso(a.silenced_until),
  };
}

async function checkChannels(ctx: AppContext, v: Viewer, ids: string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  const ok = await visibleChannelIds(ctx.sql, v, unique);
  const missing = unique.find((id) => !ok.has(id));
  if (missing) throw new BadRequest(`channel_ids: no notification channel ${missing}`);
  return unique;
}

function futureOrNull(field: string, v: string | null): Date | null {
  if (v === null) return null;
  const d = new Date(v);
  if (d.getTime() <= Date.now()) throw new BadRequest(`${field}: must be in the future (or null)`);
  return d;
}

export async function listRulesFor(ctx: AppContext, v: Viewer, projectId?: string): Promise<Rule[]> {
  return (await listRules(ctx.sql, v, projectId)).map(toRule);
}

export async function getRule(ctx: AppContext, v: Viewer, id: string): Promise<RuleRow> {
  const r = await findRule(ctx.sql, v, id);
  if (!r) throw new NotFound("alert rule");
  return r;
}

export async function createRule(ctx: AppContext, caller: Caller, input: RuleCreate): Promise<Rule> {
  if (input.project_id === null) {
    if (caller.role !== "admin") throw new Forbidden("global rules are for admins; give project_id for a rule on your project");
  } else {
    if (WORKER_KINDS.includes(input.kind)) throw new BadRequest(`project_id: ${input.kind} rules are about workers and can only be global`);
    if (!(await findProject(ctx.sql, caller, input.project_id))) throw new NotFound("project");
  }
  const channels = await checkChannels(ctx, caller, input.channel_ids);
  const silenced = futureOrNull("silenced_until", input.silenced_until);
  const id = await ctx.sql.begin(async (tx) => {
    const id = await insertRule(tx, {
      project_id: input.project_id,
      created_by: caller.id,
      name: input.name,
      kind: input.kind,
      params: input.params as RuleParams,
      for_minutes: input.for_minutes ?? DEFAULT_FOR_MINUTES[input.kind],
      enabled: input.enabled,
      silenced_until: silenced,
    });
    await setRuleChannels(tx, id, channels);
    await audit(tx, caller, "alert_rule.create", {
      target_type: "alert_rule",
      target_id: id,
      detail: { name: input.name, kind: input.kind, project_id: input.project_id, params: input.params, channels: channels.length },
    });
    return id;
  });
  return toRule((await findRule(ctx.sql, caller, id))!);
}

export async function patchRule(ctx: AppContext, caller: Caller, id: string, input: RulePatch): Promise<Rule> {
  const r = await getRule(ctx, caller, id);
  let params = r.params;
  if (input.params !== undefined) {
    const checked = ruleParams[r.kind].safeParse({ ...r.params, ...input.params });
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      throw new BadRequest(`params${issue.path.length ? "." + issue.path.join(".") : ""}: ${issue.message}`);
    }
    params = checked.data as RuleParams;
  }
  const channels = input.channel_ids !== undefined ? await checkChannels(ctx, caller, input.channel_ids) : null;
  const silenced = input.silenced_until !== undefined ? futureOrNull("silenced_until", input.silenced_until) : r.silenced_until;
  await ctx.sql.begin(async (tx) => {
    const ok = await updateRule(tx, id, r.updated_at, {
      name: input.name ?? r.name,
      params,
      for_minutes: input.for_minutes ?? r.for_minutes,
      enabled: input.enabled ?? r.enabled,
      silenced_until: silenced,
    });
    if (!ok) throw new Conflict("the rule changed meanwhile; read it again and retry", "changed");
    if (channels) await setRuleChannels(tx, id, channels);
    await audit(tx, caller, "alert_rule.update", { target_type: "alert_rule", target_id: id, detail: { fields: Object.keys(input), kind: r.kind } });
  });
  return toRule((await findRule(ctx.sql, caller, id))!);
}

export async function removeRule(ctx: AppContext, caller: Caller, id: string): Promise<void> {
  const r = await getRule(ctx, caller, id);
  if (r.builtin) throw new Conflict("a built-in rule can't be deleted; disable it (PATCH enabled=false) instead", "builtin_rule");
  await ctx.sql.begin(async (tx) => {
    if (!(await deleteRule(tx, id))) throw new NotFound("alert rule");
    await audit(tx, caller, "alert_rule.delete", { target_type: "alert_rule", target_id: id, detail: { name: r.name, kind: r.kind } });
  });
}

export async function listAlertsFor(ctx: AppContext, v: Viewer, q: AlertQuery): Promise<Alert[]> {
  return (await listAlerts(ctx.sql, v, q)).map(toAlert);
}

export async function getAlert(ctx: AppContext, v: Viewer, id: string): Promise<AlertRow> {
  const a = await findAlert(ctx.sql, v, id);
  if (!a) throw new NotFound("alert");
  return a;
}

export async function ack(ctx: AppContext, caller: Caller, id: string): Promise<Alert> {
  await getAlert(ctx, caller, id);
  if (await ackAlert(ctx.sql, id, caller.id)) await audit(ctx.sql, caller, "alert.ack", { target_type: "alert", target_id: id });
  return toAlert(await getAlert(ctx, caller, id));
}

export async function silence(ctx: AppContext, caller: Caller, id: string, until: string | null): Promise<Alert> {
  await getAlert(ctx, caller, id);
  const d = futureOrNull("until", until);
  await silenceAlert(ctx.sql, id, d);
  await audit(ctx.sql, caller, "alert.silence", { target_type: "alert", target_id: id, detail: { until: iso(d) } });
  return toAlert(await getAlert(ctx, caller, id));
}
