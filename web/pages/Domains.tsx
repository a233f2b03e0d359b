/**
 * A project's custom domains: the DNS records to create (with copy buttons),
 * each domain's verification state, its last error, the next check, the
 * grace period of a verified domain whose record went missing; add, verify
 * now, delete. The model polls while any domain is still being checked.
 */
import { useEffect, useState } from "preact/hooks";
import type { Domain, Project } from "../api";
import { Alert, Button, CopyButton, Field, Loading, Time } from "../components/ui";
import * as dom from "../models/domains";

const STATE: Record<Domain["status"], string> = { pending: "pending", verified: "verified", failed: "failed" };

function Records({ d }: { d: Domain }) {
  return (
    <table class="table dns-records" aria-label={`DNS records for ${d.display_hostname}`}>
      <thead>
        <tr>
          <th scope="col">Type</th>
          <th scope="col">Name</th>
          <th scope="col">Value</th>
          <th scope="col">Purpose</th>
        </tr>
      </thead>
      <tbody>
        {d.records.map((r) => (
          <tr key={`${r.type}:${r.name}`}>
            <td class="mono">{r.type}</td>
            <td class="mono wrap">
              {r.name} <CopyButton text={r.name} label={`Copy ${r.type} name`} />
            </td>
            <td class="mono wrap">
              {r.value} <CopyButton text={r.value} label={`Copy ${r.type} value`} />
            </td>
            <td>{r.purpose === "verification" ? "proves you own it (required)" : "points it at WiseHosting"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DomainItem({ d }: { d: Domain }) {
  const verify = dom.domainAction(d.id, "verify");
  const del = dom.domainAction(d.id, "delete");
  const [confirming, setConfirming] = useState(false);
  const stateClass = d.failing_since ? "failing" : d.status;
  return (
    <li class="domain" data-domain={d.hostname}>
      <div class="section-head">
        <h3 class="mono">{d.display_hostname}</h3>
        <span class={`status s-domain-${stateClass}`}>{d.failing_since ? "record missing" : STATE[d.status]}</span>
      </div>
      {d.display_hostname !== d.hostname && <p class="hint mono">DNS name: {d.hostname}</p>}
      <dl class="facts">
        <div>
          <dt>Last check</dt>
          <dd>
            <Time iso={d.last_checked_at} />
          </dd>
        </div>
        {d.status !== "verified" || d.failing_since ? (
          <div>
            <dt>Next check</dt>
            <dd>
              <Time iso={d.next_check_at} />
            </dd>
          </div>
        ) : (
          <div>
            <dt>Verified</dt>
            <dd>
              <Time iso={d.verified_at} />
            </dd>
          </div>
        )}
        {d.status === "pending" && d.retry_until && (
          <div>
            <dt>Retrying until</dt>
            <dd>
              <Time iso={d.retry_until} />
            </dd>
          </div>
        )}
        <div>
          <dt>CNAME found</dt>
          <dd class="mono">{d.cname_target ?? "none"}</dd>
        </div>
      </dl>
      {d.failing_since && (
        <p class="alert warn" role="status">
          The verification record has been missing since <Time iso={d.failing_since} />. Unless it is back, this domain stops routing{" "}
          {d.unverify_at ? <Time iso={d.unverify_at} /> : "soon"}.
        </p>
      )}
      {d.last_error && (
        <p class="field-error" data-testid="domain-error">
          Last check: {d.last_error}
        </p>
      )}
      {d.status === "failed" && <p class="hint">Background checks stopped. Fix the records below, then press Verify now.</p>}
      {(d.status !== "verified" || d.failing_since) && <p>Create these records at your DNS provider:</p>}
      <Records d={d} />
      <div class="row">
        <Button busy={verify.busy.value} busyLabel="Checking…" aria-label={`Verify now: ${d.display_hostname}`} onClick={() => dom.verifyDomain(d.id)}>
          Verify now
        </Button>
        {confirming ? (
          <>
            <Button kind="danger" busy={del.busy.value} busyLabel="Removing…" aria-label={`Yes, remove it: ${d.display_hostname}`} onClick={() => dom.deleteDomain(d.id)}>
              Yes, remove it
            </Button>
            <Button onClick={() => setConfirming(false)}>Keep it</Button>
          </>
        ) : (
          <Button kind="danger" aria-label={`Remove ${d.display_hostname}`} onClick={() => setConfirming(true)}>
            Remove
          </Button>
        )}
      </div>
      <Alert>{verify.error.value && `Verify failed: ${verify.error.value}`}</Alert>
      <Alert>{del.error.value && `Remove failed: ${del.error.value}`}</Alert>
    </li>
  );
}

export function DomainsPanel({ p }: { p: Project }) {
  const [host, setHost] = useState("");
  useEffect(() => {
    dom.addForm.fields.value = {};
    dom.addForm.form.value = "";
    void dom.loadDomains(p.id);
    return () => dom.closeDomains();
  }, [p.id]);
  const list = dom.domainList.value;
  const err = dom.addForm.fields.value;
  return (
    <section class="card stack" aria-labelledby="domains-h">
      <h2 id="domains-h">Custom domains</h2>
      <p class="hint">
        Serve this app on your own domain. Add it here, then create the DNS records shown; it routes once the TXT record is found. The app stays at{" "}
        <span class="mono">{p.url.replace(/^https?:\/\//, "")}</span> too.
      </p>
      <form
        class="row align-end"
        aria-label="Add a custom domain"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          if (await dom.addDomain(p.id, host.trim())) setHost("");
        }}
      >
        <Field id="domain-hostname" class="grow" label="Domain" value={host} onInput={(e) => setHost(e.currentTarget.value)} error={err.hostname} placeholder="app.example.com" autoComplete="off" />
        <Button type="submit" kind="primary" busy={dom.addForm.busy.value} busyLabel="Adding…">
          Add domain
        </Button>
      </form>
      <Alert>{dom.addForm.form.value}</Alert>
      <Alert>{dom.domainsError.value}</Alert>
      {list === null ? (
        !dom.domainsError.value && <Loading what="domains" />
      ) : list.length === 0 ? (
        <p class="muted">No custom domains.</p>
      ) : (
        <ul class="domains" aria-label="Custom domains">
          {list.map((d) => (
            <DomainItem key={d.id} d={d} />
          ))}
        </ul>
      )}
      {dom.needsPolling(list) && (
        <p class="hint" role="status">
          Checking again every {dom.POLL_MS / 1000} seconds while a domain is pending.
        </p>
      )}
    </section>
  );
}
