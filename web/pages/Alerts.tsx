/**
 * Alerts: what is firing and what fired lately (ack, silence until a time);
 * the rules that raise them and the channels that are told.
 */
import { useEffect, useState } from "preact/hooks";
import type { AlertView, Channel, Rule, RuleCreate } from "../api";
import { ActionButton, Alert, Button, CopyButton, Field, Loading, Section, Select, Status, Time, useTitle } from "../components/ui";
import * as m from "../models/alerts";
import { loadProjects, order, projectSignal } from "../models/projects";
import { isAdmin } from "../models/session";

export function AlertsPage() {
  useTitle("Alerts");
  useEffect(() => {
    void m.loadAlerts();
    void m.loadAlertSettings();
    if (!order.value) void loadProjects();
    return () => void (m.newSecret.value = null);
  }, []);
  return (
    <>
      <div class="page-head">
        <h1>Alerts</h1>
      </div>
      <AlertList />
      <Alert>{m.listError.value}</Alert>
      <Rules />
      <Channels />
    </>
  );
}

function AlertList() {
  const list = m.alerts.value;
  const open = list?.filter((a) => a.status !== "resolved") ?? [];
  const recent = list?.filter((a) => a.status === "resolved") ?? [];
  return (
    <Section title="Firing and pending" id="open-alerts">
      <Alert>{m.alertsError.value}</Alert>
      {!list ? (
        !m.alertsError.value && <Loading what="alerts" />
      ) : open.length === 0 ? (
        <p class="muted">Nothing is firing.</p>
      ) : (
        <AlertTable list={open} label="Open alerts" />
      )}
      {recent.length > 0 && (
        <>
          <h3>Recently resolved</h3>
          <AlertTable list={recent} label="Resolved alerts" />
        </>
      )}
    </Section>
  );
}

function AlertTable({ list, label }: { list: AlertView[]; label: string }) {
  return (
    <table class="table responsive" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Status</th>
          <th scope="col">Alert</th>
          <th scope="col">Target</th>
          <th scope="col">Since</th>
          <th scope="col">Actions</th>
        </tr>
      </thead>
      <tbody>
        {list.map((a) => (
          <AlertRow key={a.id} a={a} />
        ))}
      </tbody>
    </table>
  );
}

function AlertRow({ a }: { a: AlertView }) {
  const [until, setUntil] = useState("");
  const ack = m.actionOf(`ack:${a.id}`);
  const sil = m.actionOf(`silence:${a.id}`);
  return (
    <tr>
      <td data-label="Status">
        <Status status={a.status} />
      </td>
      <td data-label="Alert">
        <span class="strong">{a.rule_name}</span>
        <br />
        <span class="small">{a.summary}</span>
      </td>
      <td data-label="Target">
        {a.project_id ? <a href={`/projects/${a.project_id}/metrics`}>{a.target_name}</a> : a.target_name} <span class="muted small">({a.target_type})</span>
      </td>
      <td data-label="Since">
        <Time iso={a.fired_at ?? a.first_seen} />
        {a.resolved_at && (
          <span class="muted small">
            {" "}
            · resolved <Time iso={a.resolved_at} />
          </span>
        )}
      </td>
      <td data-label="Actions" class="row-actions">
        {a.acked_at ? (
          <span class="muted small">
            Acknowledged <Time iso={a.acked_at} />
          </span>
        ) : (
          a.status !== "resolved" && <ActionButton act={ack} label="Acknowledge" busyLabel="Acknowledging…" run={() => m.ack(a.id)} />
        )}
        {a.status !== "resolved" && (
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              void m.silence(a.id, until);
            }}
          >
            <Field id={`silence-${a.id}`} label="Silence until" type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
            <Button type="submit" busy={sil.busy.value} busyLabel="Saving…">
              {until ? "Silence" : "Lift silence"}
            </Button>
            {a.silenced_until && (
              <span class="muted small">
                Silenced until <Time iso={a.silenced_until} />
              </span>
            )}
          </form>
        )}
        <Alert>{ack.error.value || sil.error.value}</Alert>
      </td>
    </tr>
  );
}

// ---- rules ----------------------------------------------------------------

const paramsText = (r: Rule) =>
  m.KIND_PARAMS[r.kind].map(([k, label]) => `${label.replace(/ \(.*\)$/, "")}: ${r.params[k] ?? "—"}${k === "threshold_percent" ? "%" : ""}`).join(", ");

/** Changes a rule's parameters, duration and channels in place. */
function RuleEditor({ r, onDone }: { r: Rule; onDone: () => void }) {
  const [params, setParams] = useState<Record<string, string>>(Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, String(v)])));
  const [forMinutes, setForMinutes] = useState(String(r.for_minutes));
  const [chosen, setChosen] = useState<string[]>(r.channel_ids);
  const act = m.actionOf(`rule:${r.id}`);
  return (
    <form
      class="subform"
      aria-label={`Edit rule ${r.name}`}
      onSubmit={async (e) => {
        e.preventDefault();
        const p: Record<string, number> = {};
        for (const [k, , def] of m.KIND_PARAMS[r.kind]) p[k] = params[k] ? Number(params[k]) : def;
        await m.patchRule(r.id, { params: p, for_minutes: Number(forMinutes || 0), channel_ids: chosen });
        if (!act.error.value) onDone();
      }}
    >
      <div class="grid">
        {m.KIND_PARAMS[r.kind].map(([k, label]) => (
          <Field key={k} id={`edit-${r.id}-${k}`} label={label} type="number" inputMode="decimal" value={params[k] ?? ""} onInput={(e) => setParams({ ...params, [k]: e.currentTarget.value })} />
        ))}
        <Field id={`edit-${r.id}-for`} label="For (minutes)" type="number" inputMode="numeric" value={forMinutes} onInput={(e) => setForMinutes(e.currentTarget.value)} />
      </div>
      {(m.channels.value?.length ?? 0) > 0 && (
        <fieldset class="checks">
          <legend>Notify</legend>
          {m.channels.value!.map((c) => (
            <label key={c.id}>
              <input type="checkbox" checked={chosen.includes(c.id)} onChange={(e) => setChosen(e.currentTarget.checked ? [...chosen, c.id] : chosen.filter((x) => x !== c.id))} /> {c.name}
            </label>
          ))}
        </fieldset>
      )}
      <Alert>{act.error.value}</Alert>
      <Button type="submit" kind="primary" busy={act.busy.value} busyLabel="Saving…">
        Save rule
      </Button>{" "}
      <Button onClick={onDone}>Cancel</Button>
    </form>
  );
}

function Rules() {
  const list = m.rules.value;
  const [editing, setEditing] = useState<string | null>(null);
  const channelName = (id: string) => m.channels.value?.find((c) => c.id === id)?.name ?? id.slice(0, 8);
  return (
    <Section title="Rules" id="rules">
      {!list ? (
        <Loading what="rules" />
      ) : (
        <table class="table responsive" aria-label="Alert rules">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Applies to</th>
              <th scope="col">Parameters</th>
              <th scope="col">Channels</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((r) => {
              const act = m.actionOf(`rule:${r.id}`);
              return (
                <tr key={r.id}>
                  <td data-label="Name" class="strong">
                    {r.name} {!r.enabled && <span class="status">disabled</span>}
                  </td>
                  <td data-label="Kind">{m.KIND_LABELS[r.kind]}</td>
                  <td data-label="Applies to">{r.project_id ? (projectSignal(r.project_id).value?.name ?? r.project_id.slice(0, 8)) : "All projects"}</td>
                  <td data-label="Parameters" class="small">
                    {paramsText(r) || "—"}
                    {r.for_minutes > 0 && ` · for ${r.for_minutes} min`}
                  </td>
                  <td data-label="Channels" class="small">
                    {r.channel_ids.map(channelName).join(", ") || "—"}
                  </td>
                  <td data-label="Actions" class="row-actions">
                    <Button aria-label={`Edit rule ${r.name}`} onClick={() => setEditing(editing === r.id ? null : r.id)}>
                      Edit
                    </Button>
                    <Button busy={act.busy.value} aria-label={`${r.enabled ? "Disable" : "Enable"} rule ${r.name}`} onClick={() => m.patchRule(r.id, { enabled: !r.enabled })}>
                      {r.enabled ? "Disable" : "Enable"}
                    </Button>
                    {!r.builtin && (
                      <Button kind="danger" busy={act.busy.value} aria-label={`Delete rule ${r.name}`} onClick={() => confirm(`Delete the rule "${r.name}"?`) && m.deleteRule(r.id)}>
                        Delete
                      </Button>
                    )}
                    <Alert>{act.error.value}</Alert>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {editing && list?.find((r) => r.id === editing) && <RuleEditor r={list.find((r) => r.id === editing)!} onDone={() => setEditing(null)} />}
      <RuleForm />
    </Section>
  );
}

function RuleForm() {
  const [kind, setKind] = useState<Rule["kind"]>("cpu_high");
  const [name, setName] = useState("");
  const [project, setProject] = useState("");
  const [forMinutes, setForMinutes] = useState("");
  const [params, setParams] = useState<Record<string, string>>({});
  const [chosen, setChosen] = useState<string[]>([]);
  const f = m.ruleForm;
  const errs = f.fields.value;
  const workerKind = kind === "worker_offline" || kind === "worker_disk_high";
  const projects = (order.value ?? []).map((id) => projectSignal(id).value).filter((p) => p !== undefined);
  const scopeOptions: [string, string][] = [...(isAdmin.value || workerKind ? [["", "All projects (global)"] as [string, string]] : []), ...(workerKind ? [] : projects.map((p): [string, string] => [p.id, p.name]))];
  const scope = scopeOptions.some(([v]) => v === project) ? project : (scopeOptions[0]?.[0] ?? "");
  return (
    <form
      class="subform"
      aria-labelledby="new-rule-h"
      onSubmit={async (e) => {
        e.preventDefault();
        const p: Record<string, number> = {};
        for (const [k, , def] of m.KIND_PARAMS[kind]) p[k] = params[k] ? Number(params[k]) : def;
        const input = {
          kind,
          name,
          params: p,
          project_id: scope || null,
          channel_ids: chosen,
          ...(forMinutes ? { for_minutes: Number(forMinutes) } : {}),
        } as RuleCreate;
        if (await m.createRule(input)) (setName(""), setParams({}), setForMinutes(""));
      }}
    >
      <h3 id="new-rule-h">New rule</h3>
      <div class="grid">
        <Field id="rule-name" label="Name" value={name} required maxLength={100} error={errs.name} onInput={(e) => setName(e.currentTarget.value)} />
        <Select id="rule-kind" label="Kind" value={kind} options={(Object.entries(m.KIND_LABELS) as [string, string][]).filter(([k]) => isAdmin.value || !k.startsWith("worker_"))} onChange={(e) => setKind(e.currentTarget.value as Rule["kind"])} />
        <Select id="rule-project" label="Applies to" value={scope} options={scopeOptions} error={errs.project_id} onChange={(e) => setProject(e.currentTarget.value)} />
        {m.KIND_PARAMS[kind].map(([k, label, def]) => (
          <Field
            key={k}
            id={`rule-${k}`}
            label={label}
            type="number"
            inputMode="decimal"
            placeholder={String(def)}
            value={params[k] ?? ""}
            error={errs[`params.${k}`] ?? (k === m.KIND_PARAMS[kind][0]?.[0] ? errs.params : undefined)}
            onInput={(e) => setParams({ ...params, [k]: e.currentTarget.value })}
          />
        ))}
        <Field id="rule-for" label="For (minutes)" type="number" inputMode="numeric" value={forMinutes} error={errs.for_minutes} hint="How long the condition must hold; empty for the kind's default." onInput={(e) => setForMinutes(e.currentTarget.value)} />
      </div>
      {(m.channels.value?.length ?? 0) > 0 && (
        <fieldset class="checks">
          <legend>Notify</legend>
          {m.channels.value!.map((c) => (
            <label key={c.id}>
              <input type="checkbox" checked={chosen.includes(c.id)} onChange={(e) => setChosen(e.currentTarget.checked ? [...chosen, c.id] : chosen.filter((x) => x !== c.id))} /> {c.name}
            </label>
          ))}
        </fieldset>
      )}
      <Alert>{f.form.value}</Alert>
      <Alert kind="ok">{m.ruleSaved.value}</Alert>
      <Button type="submit" kind="primary" busy={f.busy.value} busyLabel="Creating…">
        Create rule
      </Button>
    </form>
  );
}

// ---- channels -------------------------------------------------------------

function Channels() {
  const list = m.channels.value;
  return (
    <Section title="Notification channels" id="channels">
      {m.newSecret.value && (
        <div class="alert ok" role="status">
          <p>
            The signing secret of <strong>{m.newSecret.value.name}</strong> is shown only now. Store it with your receiver:
          </p>
          <p>
            <code class="secret">{m.newSecret.value.secret}</code> <CopyButton text={m.newSecret.value.secret} label="Copy secret" />
          </p>
        </div>
      )}
      {!list ? (
        <Loading what="channels" />
      ) : list.length === 0 ? (
        <p class="muted">No channels yet: add a webhook, Slack or e-mail channel below, then pick it in a rule.</p>
      ) : (
        <table class="table responsive" aria-label="Notification channels">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">Destination</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <ChannelRow key={c.id} c={c} />
            ))}
          </tbody>
        </table>
      )}
      <ChannelForm />
    </Section>
  );
}

function ChannelRow({ c }: { c: Channel }) {
  const act = m.actionOf(`channel:${c.id}`);
  const test = m.actionOf(`test:${c.id}`);
  const r = m.testResults.value[c.id];
  return (
    <tr>
      <td data-label="Name" class="strong">
        {c.name} {!c.enabled && <span class="status">disabled</span>}
      </td>
      <td data-label="Kind">{c.kind}</td>
      <td data-label="Destination" class="mono url">
        {c.url ?? c.to?.join(", ") ?? "—"}
      </td>
      <td data-label="Actions" class="row-actions">
        <Button busy={test.busy.value} busyLabel="Sending…" aria-label={`Send test to ${c.name}`} onClick={() => m.testChannel(c.id)}>
          Send test
        </Button>
        <Button busy={act.busy.value} aria-label={`${c.enabled ? "Disable" : "Enable"} channel ${c.name}`} onClick={() => m.toggleChannel(c)}>
          {c.enabled ? "Disable" : "Enable"}
        </Button>
        <Button kind="danger" busy={act.busy.value} aria-label={`Delete channel ${c.name}`} onClick={() => confirm(`Delete the channel "${c.name}"?`) && m.deleteChannel(c.id)}>
          Delete
        </Button>
        {r && (
          <Alert kind={r.ok ? "ok" : "error"}>
            {r.ok ? `Test delivered (HTTP ${r.status ?? "—"}, ${r.duration_ms} ms).` : `Test failed${r.status ? ` (HTTP ${r.status})` : ""}: ${r.error ?? "unknown error"}`}
          </Alert>
        )}
        <Alert>{act.error.value || test.error.value}</Alert>
      </td>
    </tr>
  );
}

function ChannelForm() {
  const [kind, setKind] = useState<Channel["kind"]>("webhook");
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [to, setTo] = useState("");
  const f = m.channelForm;
  const errs = f.fields.value;
  return (
    <form
      class="subform"
      aria-labelledby="new-channel-h"
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await m.createChannel(
          kind === "email"
            ? { kind, name, to: to.split(/[\s,]+/).filter(Boolean) }
            : { kind, name, url },
        );
        if (ok) (setName(""), setUrl(""), setTo(""));
      }}
    >
      <h3 id="new-channel-h">New channel</h3>
      <div class="grid">
        <Field id="channel-name" label="Name" value={name} required maxLength={100} error={errs.name} onInput={(e) => setName(e.currentTarget.value)} />
        <Select
          id="channel-kind"
          label="Kind"
          value={kind}
          options={[
            ["webhook", "Webhook (signed JSON POST)"],
            ["slack", "Slack incoming webhook"],
            ["email", "E-mail"],
          ]}
          onChange={(e) => setKind(e.currentTarget.value as Channel["kind"])}
        />
        {kind === "email" ? (
          <Field id="channel-to" label="Recipients" value={to} required error={errs.to} hint="E-mail addresses, separated by commas." onInput={(e) => setTo(e.currentTarget.value)} />
        ) : (
          <Field id="channel-url" label="URL" value={url} required error={errs.url} placeholder="https://" onInput={(e) => setUrl(e.currentTarget.value)} />
        )}
      </div>
      <Alert>{f.form.value}</Alert>
      <Button type="submit" kind="primary" busy={f.busy.value} busyLabel="Creating…">
        Create channel
      </Button>
    </form>
  );
}
