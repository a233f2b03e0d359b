/** The Account page's linked git accounts: link (through the provider's consent page), unlink, revoked links. */
import { useEffect } from "preact/hooks";
import * as git from "../models/git";
import { query } from "../router";
import { Alert, Button, Loading, Time } from "./ui";

export function GitLinks() {
  useEffect(() => {
    void git.loadGit();
  }, []);
  const outcome = git.linkOutcome(query.value);
  const providers = git.gitProviders.value;
  const links = git.gitLinks.value;
  return (
    <div class="stack">
      {outcome && <Alert kind={outcome.kind}>{outcome.text}</Alert>}
      <Alert>{git.linksError.value}</Alert>
      {links === null || providers === null ? (
        !git.linksError.value && <Loading what="git accounts" />
      ) : (
        <>
          {links.length === 0 ? (
            <p class="muted">No linked git accounts.</p>
          ) : (
            <table class="table responsive" aria-label="Linked git accounts">
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">Account</th>
                  <th scope="col">State</th>
                  <th scope="col">Linked</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {links.map((l) => (
                  <tr key={l.id} data-link={l.id}>
                    <td data-label="Provider">
                      {l.provider_name}
                      {!l.provider_configured && <p class="hint">no longer configured on this server</p>}
                    </td>
                    <td data-label="Account" class="mono">
                      {l.account_login}
                    </td>
                    <td data-label="State">
                      {l.status === "revoked" ? (
                        <>
                          <span class="status s-revoked">revoked</span>
                          {l.revoked_reason && <p class="hint">{l.revoked_reason}</p>}
                          {l.provider_configured && (
                            <a class="btn plain small" href={git.linkUrl(l.provider)} aria-label={`Link again: ${l.provider_name}`}>
                              Link again
                            </a>
                          )}
                        </>
                      ) : (
                        <span class="status s-active">active</span>
                      )}
                    </td>
                    <td data-label="Linked">
                      <Time iso={l.created_at} />
                    </td>
                    <td class="row-actions">
                      <Button class="small" kind="danger" busy={git.unlinkAction.busy.value} busyLabel="Unlinking…" aria-label={`Unlink ${l.provider_name} account ${l.account_login}`} onClick={() => git.unlink(l.id)}>
                        Unlink
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Alert>{git.unlinkAction.error.value}</Alert>
          {providers.length === 0 ? (
            <p class="muted">No git providers are configured on this server; paste a public repository URL when creating a project.</p>
          ) : (
            <div class="row" role="group" aria-label="Link a git account">
              {providers.map((p) => (
                <a key={p.id} class="btn plain" href={git.linkUrl(p.id)}>
                  Link {p.name}
                </a>
              ))}
            </div>
          )}
        </>
      )}
    </div>
  );
}
