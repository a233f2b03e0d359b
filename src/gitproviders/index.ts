/**
 * Linked git providers and push-to-deploy.
 *
 *   GET    /v1/git-providers                        the providers configured on this server
 *   GET    /v1/git-providers/:provider/link         302 to the provider's OAuth consent (browser session only)
 *   GET    /v1/git-providers/:provider/callback     where the provider sends the browser back; 302 to /account
 *   GET    /v1/git-links                            your linked accounts (status active | revoked)
 *   DELETE /v1/git-links/:id                        unlink (removes webhooks made through it)
 *   GET    /v1/git-links/:id/repos?query=           repositories of a linked account
 *   GET    /v1/git-links/:id/repos/:repo/branches   branches of one (`repo` URL-encoded: owner%2Fname)
 *   GET    /v1/projects/:id/git                     link, auto-deploy / previews, webhook URL(s) and state
 *   PATCH  /v1/projects/:id/git                     change those; link or unlink a repository
 *   GET    /v1/projects/:id/git/webhook-secret      URL and secret to paste at the provider
 *   POST   /v1/projects/:id/git/webhook             create the provider webhook again
 *   POST   /v1/hooks/:provider/:hook_id             webhook deliveries (no auth: the signature is checked)
 */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin, requestMeta } from "../auth";
import { ApiError, Forbidden } from "../http/errors";
import { RateLimiter } from "../http/rate-limit";
import { coalesced } from "../util/coalesce";
import { readCookie, SESSION_COOKIE } from "../sessions/service";
import { branchList, callbackQuery, gitLink, gitProvider, hookParams, idParam, projectGit, projectGitPatch, providerParam, repoParam, repoShape, reposQuery, webhookSecret } from "./model";
import { pruneDeliveries } from "./queries";
import * as git from "./service";
import * as deliveries from "./hooks";

export { attachOnCreate, beforeProjectDelete, cloneCredential } from "./service";

const redirect = (location: string) => new Response(null, { status: 302, headers: { location, "cache-control": "no-store" } });

export function gitprovidersPlugin(ctx: AppContext) {
  const perIp = new RateLimiter(60, 60_000);
  const providers = new Elysia({ prefix: "/v1/git-providers", tags: ["git"] } as never)
    .use(authPlugin(ctx))
    .get("/", () => ({ providers: git.listProviders(ctx) }), {
      auth: "read",
      response: z.object({ providers: z.array(gitProvider) }),
      detail: { summary: "Git providers an account can be linked with on this server" },
    })
    .get(
      "/:provider/link",
      async ({ user, params, request }) => {
        // Started from our own pages only: another site must not start a link for a signed-in browser.
        const site = request.headers.get("sec-fetch-site");
        if (site !== null && site !== "same-origin" && site !== "none") throw new Forbidden("cross-site request refused");
        return redirect(await git.startLink(ctx, user, params.provider));
      },
      { auth: "write", params: providerParam, detail: { summary: "Start linking a git account (302 to the provider; browser session only)" } },
    )
    .get(
      "/:provider/callback",
      async ({ params, query, request, server }) => {
        const meta = requestMeta(request, server);
        perIp.hit(`git-callback:${meta.ip ?? "unknown"}`);
        try {
          const link = await git.finishLink(ctx, params.provider, query, readCookie(request.headers.get("cookie"), SESSION_COOKIE), meta);
          return redirect(`/account?git_linked=${encodeURIComponent(link.provider)}`);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          return redirect(`/account?git_link_error=${encodeURIComponent(e.code)}`);
        }
      },
      { params: providerParam, query: callbackQuery, detail: { summary: "Where the provider sends the browser back (code, state); 302 to /account" } },
    );

  const linksRoutes = new Elysia({ prefix: "/v1/git-links", tags: ["git"] } as never)
    .use(authPlugin(ctx))
    .get("/", async ({ user }) => ({ links: await git.links(ctx, user.id) }), {
      auth: "read",
      response: z.object({ links: z.array(gitLink) }),
      detail: { summary: "Your linked git accounts" },
    })
    .delete(
      "/:id",
      async ({ user, params, set }) => {
        await git.unlink(ctx, user, params.id);
        set.status = 204;
        return null;
      },
      { auth: "write", params: idParam, detail: { summary: "Unlink a git account (its webhooks are removed at the provider)" } },
    )
    .get("/:id/repos", async ({ user, params, query }) => ({ repos: await git.repos(ctx, user.id, params.id, query.query ?? "") }), {
      auth: "read",
      params: idParam,
      query: reposQuery,
      response: z.object({ repos: z.array(repoShape) }),
      detail: { summary: "Repositories of a linked account, filtered by ?query" },
    })
    .get("/:id/repos/:repo/branches", async ({ user, params }) => ({ branches: await git.branches(ctx, user.id, params.id, params.repo) }), {
      auth: "read",
      params: repoParam,
      response: z.object({ branches: branchList }),
      detail: { summary: "Branches of a repository (repo URL-encoded, e.g. owner%2Fname)" },
    });

  const projectRoutes = new Elysia({ prefix: "/v1/projects/:id/git", tags: ["git"] } as never)
    .use(authPlugin(ctx))
    .get("/", ({ user, params }) => git.projectGit(ctx, user, params.id), {
      auth: "read",
      params: idParam,
      response: projectGit,
      detail: { summary: "The project's repository link, auto-deploy and preview settings, webhook URLs" },
    })
    .patch("/", ({ user, params, body }) => git.patchProjectGit(ctx, user, params.id, body), {
      auth: "write",
      params: idParam,
      body: projectGitPatch,
      response: projectGit,
      detail: { summary: "Turn auto-deploy / previews on or off; link or unlink a repository" },
    })
    .get("/webhook-secret", ({ user, params }) => git.webhookSecret(ctx, user, params.id), {
      auth: "write",
      params: idParam,
      response: webhookSecret,
      detail: { summary: "The webhook URL(s) and secret to paste at a provider by hand" },
    })
    .post("/webhook", ({ user, params }) => git.reinstallHook(ctx, user, params.id), {
      auth: "write",
      params: idParam,
      response: projectGit,
      detail: { summary: "Create the webhook at the provider again" },
    });

  // Deliveries: the signature covers the exact bytes, so the body is read raw, never parsed by Elysia.
  const hooks = new Elysia({ tags: ["git"] } as never).post(
    "/v1/hooks/:provider/:hook_id",
    async ({ params, request, server, set }) => {
      const body = new Uint8Array(await request.arrayBuffer());
      const r = await deliveries.receiveHook(ctx, params.provider, params.hook_id, request.headers, body, requestMeta(request, server));
      set.status = r.status;
      return r.body;
    },
    { parse: "none", params: hookParams, detail: { summary: "Webhook deliveries from GitHub, GitLab, Bitbucket, Forgejo/Gitea (signature-checked)" } },
  );

  return new Elysia().use(providers).use(linksRoutes).use(projectRoutes).use(hooks);
}

/**
 * Background work: commit statuses follow deployment events (sent at once,
 * retried with backoff), tokens about to expire are refreshed, old delivery
 * ids pruned. main.ts starts it next to the scheduler.
 */
export function startGitProviderJobs(ctx: AppContext, opts: { statusEveryMs?: number; refreshEveryMs?: number } = {}): { stop(): void; flush(): Promise<void> } {
  const send = coalesced(() => deliveries.sendDueStatuses(ctx), "git-statuses");
  const off = ctx.events.on("deployment", async (e) => {
    if (await deliveries.onDeploymentEvent(ctx, e.deployment_id, e.status)) void send();
  });
  const statusTimer = setInterval(() => void send(), opts.statusEveryMs ?? 15_000);
  const maintain = coalesced(async () => {
    await git.refreshExpiring(ctx);
    await pruneDeliveries(ctx.sql, 30);
  }, "git-maintenance");
  const refreshTimer = setInterval(() => void maintain(), opts.refreshEveryMs ?? 60_000);
  void maintain();
  return {
    stop() {
      off();
      clearInterval(statusTimer);
      clearInterval(refreshTimer);
    },
    /** Sends what is due now (tests). */
    flush: send,
  };
}
