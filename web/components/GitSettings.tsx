/**
 * A project's push-to-deploy settings: the linked repository, auto-deploy
 * and previews on/off, the webhook's state (with a retry when creating it
 * failed), and for a project with no linked account the webhook URL and
 * secret to paste at the provider by hand.
 */
import { useEffect } from "preact/hooks";
import type { Project } from "../api";
import * as git from "../models/git";
import { Alert, Button, CopyButton, Loading } from "./ui";

function Toggle({ id, label, checked, hint, onChange, disabled }: { id: string; label: string; checked: boolean; hint: string; onChange: (v: boolean) => void; disabled?: boolean }) {
  return (
    <div class="field check">
      <input id={id} name={id} type="checkbox" checked={checked} disabled={disabled} aria-describedby={`${id}-hint`} onChange={(e) => onChange(e.currentTarget.checked)} />
      <label for={id}>{label}</label>
      <p class="hint" id={`${id}-hint`}>
        {hint}
      </p>
    </div>
  );
}

function ManualWebhook({ p }: { p: Project }) {
  const s = git.secret.value;
  const urls = Object.entries(s?.webhook_urls ?? git.projectGit.value?.webhook_urls ?? {});
  return (
    <div class="stack" data-testid="manual-webhook">
      <p>
        This project isn't linked to a git account. To deploy on every push to <span class="mono">{p.branch}</span>, add a webhook at your git host with the URL for its
        kind and this secret (content type JSON, push events).
      </p>
      <table class="table" aria-label="Webhook URLs">
        <thead>
          <tr>
            <th scope="col">Git host</th>
            <th scope="col">Webhook URL</th>
          </tr>
        </thead>
        <tbody>
          {urls.map(([kind, url]) => (
            <tr key={kind}>
              <td>{kind}</td>
              <td class="mono wrap">
                {url} <CopyButton text={url} label={`Copy ${kind} URL`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {s ? (
        <p>
          Secret: <code class="mono secret" data-testid="webhook-secret">{s.secret}</code> <CopyButton text={s.secret} label="Copy secret" />
        </p>
      ) : (
        <div class="row">
          <Button busy={git.secretAction.busy.value} busyLabel="Loading…" onClick={() => git.showSecret(p.id)}>
            Show webhook secret
          </Button>
        </div>
      )}
      <Alert>{git.secretAction.error.value}</Alert>
    </div>
  );
}

export function GitSettings({ p }: { p: Project }) {
  useEffect(() => {
    git.secretAction.error.value = "";
    git.gitSave.error.value = "";
    git.hookRetry.error.value = "";
    void git.loadProjectGit(p.id);
  }, [p.id]);
  const g = git.projectGit.value?.project_id === p.id ? git.projectGit.value : null;
  return (
    <section class="card stack" aria-labelledby="git-h">
      <h2 id="git-h">Git and builds</h2>
      <Alert>{git.projectGitError.value}</Alert>
      {!g ? (
        !git.projectGitError.value && <Loading what="git settings" />
      ) : (
        <>
          {g.link ? (
            <p>
              Linked to <span class="mono">{g.link.repo}</span> through {g.link.provider} account <strong>{g.link.account_login}</strong>
              {g.link.status === "revoked" && <span class="status s-revoked">revoked: link the account again on the Account page</span>}
            </p>
          ) : null}
          {g.preview_of && (
            <p>
              A preview of pull request #{g.preview_of.pr_number} of <a href={`/projects/${g.preview_of.project_id}`}>its project</a>.
            </p>
          )}
          <Toggle
            id="git-auto-deploy"
            label="Deploy on every push"
            checked={g.auto_deploy}
            disabled={git.gitSave.busy.value}
            hint={`A push to ${p.branch} starts a deployment.`}
            onChange={(v) => git.setGitOption(p.id, { auto_deploy: v })}
          />
          <Toggle
            id="git-previews"
            label="Preview deployments for pull requests"
            checked={g.previews}
            disabled={git.gitSave.busy.value}
            hint="Each open pull / merge request gets its own preview project."
            onChange={(v) => git.setGitOption(p.id, { previews: v })}
          />
          <Alert>{git.gitSave.error.value}</Alert>
          {g.link && g.webhook.error && (
            <div class="stack">
              <Alert>Creating the webhook at {g.link.provider} failed: {g.webhook.error}</Alert>
              <div class="row">
                <Button busy={git.hookRetry.busy.value} busyLabel="Retrying…" onClick={() => git.retryWebhook(p.id)}>
                  Retry creating the webhook
                </Button>
              </div>
              <Alert>{git.hookRetry.error.value}</Alert>
            </div>
          )}
          {g.link && g.webhook.managed && !g.webhook.error && <p class="muted">The webhook at {g.link.provider} is in place.</p>}
          {!g.link && <ManualWebhook p={p} />}
        </>
      )}
    </section>
  );
}
