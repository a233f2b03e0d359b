/**
 * The new-project form's repository source: a linked git account (search its
 * repositories, pick one and a branch, auto-deploy / previews) or a public
 * URL pasted by hand (the form's own field, shown when no account is chosen).
 */
import { useEffect, useState } from "preact/hooks";
import type { Repo } from "../api";
import * as git from "../models/git";
import { Alert, Field, Select } from "./ui";

export type GitPick = { link_id: string; repo: Repo | null; branch: string; auto_deploy: boolean; previews: boolean };

export function GitRepoPicker({ pick, onPick, error }: { pick: GitPick | null; onPick: (p: GitPick | null) => void; error?: string }) {
  const [q, setQ] = useState("");
  useEffect(() => {
    if (git.gitLinks.value === null) void git.loadGit();
    return () => git.resetPicker();
  }, []);
  const linkId = pick?.link_id ?? "";
  useEffect(() => {
    if (!linkId) return;
    const t = setTimeout(() => void git.searchRepos(linkId, q), 250);
    return () => clearTimeout(t);
  }, [linkId, q]);
  const links = (git.gitLinks.value ?? []).filter((l) => l.status === "active" && l.provider_configured);
  if (links.length === 0) return null;
  const repos = git.repos.value;
  const branches = git.branches.value;
  return (
    <fieldset class="span-all git-pick grid-form">
      <legend>Repository source</legend>
      <Select
        id="git-source"
        label="Source"
        value={linkId}
        options={[["", "Public URL (paste below)"], ...links.map((l): [string, string] => [l.id, `${l.provider_name}: ${l.account_login}`])]}
        onChange={(e) => {
          const id = e.currentTarget.value;
          git.resetPicker();
          setQ("");
          onPick(id ? { link_id: id, repo: null, branch: "", auto_deploy: true, previews: false } : null);
        }}
      />
      {pick && (
        <>
          <Field id="git-repo-search" type="search" label="Search repositories" value={q} onInput={(e) => setQ(e.currentTarget.value)} autoComplete="off" placeholder="owner/name" />
          <Select
            id="git-repo"
            label="Repository"
            value={pick.repo?.full_name ?? ""}
            error={error}
            options={[
              ["", repos === null ? "Loading…" : repos.length ? "Choose a repository" : "No repositories match"],
              ...(repos ?? []).map((r): [string, string] => [r.full_name, `${r.full_name}${r.private ? " (private)" : ""}`]),
            ]}
            onChange={(e) => {
              const repo = repos?.find((r) => r.full_name === e.currentTarget.value) ?? null;
              onPick({ ...pick, repo, branch: repo?.default_branch ?? "" });
              if (repo) void git.loadBranches(pick.link_id, repo.full_name);
            }}
          />
          {pick.repo && (
            <Select
              id="git-branch"
              label="Branch"
              value={pick.branch}
              options={
                branches === null
                  ? [[pick.branch, pick.branch || "Loading…"]]
                  : [...(branches.some((b) => b.name === pick.branch) ? [] : [[pick.branch, pick.branch || "Choose a branch"] as [string, string]]), ...branches.map((b): [string, string] => [b.name, b.name])]
              }
              onChange={(e) => onPick({ ...pick, branch: e.currentTarget.value })}
            />
          )}
          <div class="field check">
            <input id="git-new-auto" type="checkbox" checked={pick.auto_deploy} onChange={(e) => onPick({ ...pick, auto_deploy: e.currentTarget.checked })} />
            <label for="git-new-auto">Deploy on every push</label>
          </div>
          <div class="field check">
            <input id="git-new-previews" type="checkbox" checked={pick.previews} onChange={(e) => onPick({ ...pick, previews: e.currentTarget.checked })} />
            <label for="git-new-previews">Preview deployments for pull requests</label>
          </div>
          <div class="span-all">
            <Alert>{git.reposError.value}</Alert>
            <Alert>{git.branchesError.value}</Alert>
          </div>
        </>
      )}
    </fieldset>
  );
}
