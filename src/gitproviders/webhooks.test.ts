import { expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { constantTimeEqual, hmacSha256Hex, hookKind, parseEvent, verifyDelivery } from "./webhooks";

const enc = (s: string) => new TextEncoder().encode(s);
const SHA = "0123456789abcdef0123456789abcdef01234567";

test("GitHub's published X-Hub-Signature-256 test vector", () => {
  // docs.github.com, "Validating webhook deliveries": secret, payload and the signature they give.
  const secret = "It's a Secret to Everybody";
  const payload = enc("Hello, World!");
  const signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  expect("sha256=" + hmacSha256Hex(secret, payload)).toBe(signature);
  const headers = new Headers({ "x-hub-signature-256": signature, "x-github-delivery": "d-1", "x-github-event": "push" });
  expect(verifyDelivery("github", headers, payload, secret)).toEqual({ ok: true, deliveryId: "d-1", event: "push" });
});

test("GitHub: a tampered body, a wrong secret, a missing header are refused", () => {
  const secret = "It's a Secret to Everybody";
  const signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  const headers = new Headers({ "x-hub-signature-256": signature, "x-github-delivery": "d-1", "x-github-event": "push" });
  expect(verifyDelivery("github", headers, enc("Hello, World?"), secret)).toMatchObject({ ok: false, status: 401 });
  expect(verifyDelivery("github", headers, enc("Hello, World! "), secret)).toMatchObject({ ok: false, status: 401 });
  expect(verifyDelivery("github", headers, enc("Hello, World!"), "It's a secret to everybody")).toMatchObject({ ok: false, status: 401 });
  const noSig = new Headers({ "x-github-delivery": "d-1", "x-github-event": "push" });
  expect(verifyDelivery("github", noSig, enc("Hello, World!"), secret)).toEqual({ ok: false, status: 401, reason: "missing X-Hub-Signature-256" });
  // The SHA-1 header alone is not enough; neither is a signature without its prefix.
  const sha1Only = new Headers({ "x-hub-signature": "sha1=" + createHmac("sha1", secret).update("Hello, World!").digest("hex"), "x-github-delivery": "d", "x-github-event": "push" });
  expect(verifyDelivery("github", sha1Only, enc("Hello, World!"), secret).ok).toBe(false);
  const bare = new Headers({ "x-hub-signature-256": signature.slice(7), "x-github-delivery": "d", "x-github-event": "push" });
  expect(verifyDelivery("github", bare, enc("Hello, World!"), secret).ok).toBe(false);
  // Signed, but no delivery id: can't be deduplicated, so refused.
  const noId = new Headers({ "x-hub-signature-256": signature, "x-github-event": "push" });
  expect(verifyDelivery("github", noId, enc("Hello, World!"), secret)).toMatchObject({ ok: false, status: 400 });
});

test("Forgejo / Gitea: hex HMAC-SHA256 in X-Forgejo-Signature or X-Gitea-Signature", () => {
  const body = enc('{"ref":"refs/heads/main"}');
  const sig = hmacSha256Hex("s3cret", body);
  const forgejo = new Headers({ "x-forgejo-signature": sig, "x-forgejo-delivery": "f-1", "x-forgejo-event": "push" });
  expect(verifyDelivery("gitea", forgejo, body, "s3cret")).toEqual({ ok: true, deliveryId: "f-1", event: "push" });
  const gitea = new Headers({ "x-gitea-signature": sig, "x-gitea-delivery": "g-1", "x-gitea-event": "push" });
  expect(verifyDelivery("gitea", gitea, body, "s3cret")).toEqual({ ok: true, deliveryId: "g-1", event: "push" });
  expect(verifyDelivery("gitea", gitea, body, "other")).toMatchObject({ ok: false, status: 401 });
  expect(verifyDelivery("gitea", new Headers({ "x-gitea-delivery": "g", "x-gitea-event": "push" }), body, "s3cret")).toMatchObject({ ok: false, status: 401 });
});

test("GitLab: X-Gitlab-Token compared with the secret; Idempotency-Key or the event UUID as delivery id", () => {
  const body = enc("{}");
  const ok = new Headers({ "x-gitlab-token": "tok-123", "x-gitlab-event-uuid": "u-1", "x-gitlab-event": "Push Hook" });
  expect(verifyDelivery("gitlab", ok, body, "tok-123")).toEqual({ ok: true, deliveryId: "u-1", event: "Push Hook" });
  ok.set("idempotency-key", "k-1");
  expect(verifyDelivery("gitlab", ok, body, "tok-123")).toMatchObject({ ok: true, deliveryId: "k-1" });
  expect(verifyDelivery("gitlab", ok, body, "tok-1234")).toMatchObject({ ok: false, status: 401 });
  expect(verifyDelivery("gitlab", new Headers({ "x-gitlab-event": "Push Hook" }), body, "tok-123")).toMatchObject({ ok: false, status: 401 });
});

test("Bitbucket: X-Hub-Signature sha256=<hex>, X-Request-UUID, X-Event-Key", () => {
  const body = enc('{"push":{}}');
  const h = new Headers({ "x-hub-signature": "sha256=" + hmacSha256Hex("bb", body), "x-request-uuid": "r-1", "x-event-key": "repo:push" });
  expect(verifyDelivery("bitbucket", h, body, "bb")).toEqual({ ok: true, deliveryId: "r-1", event: "repo:push" });
  expect(verifyDelivery("bitbucket", h, enc('{"push":{} }'), "bb")).toMatchObject({ ok: false, status: 401 });
});

test("constantTimeEqual compares whole values", () => {
  expect(constantTimeEqual("abc", "abc")).toBe(true);
  expect(constantTimeEqual("abc", "abd")).toBe(false);
  expect(constantTimeEqual("abc", "abcd")).toBe(false);
  expect(constantTimeEqual("", "")).toBe(true);
});

test("hook kinds: Forgejo and Codeberg deliver Gitea's format", () => {
  expect(hookKind("codeberg")).toBe("gitea");
  expect(hookKind("forgejo")).toBe("gitea");
  expect(hookKind("github")).toBe("github");
  expect(hookKind("svn")).toBeNull();
});

test("GitHub / Gitea events: push to a branch, tag, ping, deleted branch, pull requests", () => {
  const repo = { full_name: "me/app" };
  expect(parseEvent("github", "push", { ref: "refs/heads/main", after: SHA, repository: repo })).toEqual({ type: "push", branch: "main", sha: SHA, repo: "me/app" });
  expect(parseEvent("github", "push", { ref: "refs/heads/feature/x", after: SHA })).toMatchObject({ type: "push", branch: "feature/x" });
  expect(parseEvent("github", "push", { ref: "refs/tags/v1", after: SHA })).toEqual({ type: "tag" });
  expect(parseEvent("github", "push", { ref: "refs/heads/main", after: "0".repeat(40), deleted: true })).toEqual({ type: "branch_deleted", branch: "main" });
  expect(parseEvent("github", "ping", { zen: "x", hook_id: 1 })).toEqual({ type: "ping" });
  const same = { head: { sha: SHA, ref: "feat", repo }, base: { repo } };
  expect(parseEvent("github", "pull_request", { action: "opened", number: 7, pull_request: same, repository: repo })).toEqual({
    type: "pull_request",
    action: "open",
    number: 7,
    sha: SHA,
    branch: "feat",
    repo: "me/app",
    fork: false,
  });
  // From a fork (or a deleted fork): flagged, so no preview runs its code with the project's secrets.
  const fork = { head: { sha: SHA, ref: "feat", repo: { full_name: "mallory/app" } }, base: { repo } };
  expect(parseEvent("github", "pull_request", { action: "opened", number: 8, pull_request: fork, repository: repo })).toMatchObject({ fork: true });
  expect(parseEvent("github", "pull_request", { action: "opened", number: 8, pull_request: { head: { sha: SHA, ref: "x", repo: null } }, repository: repo })).toMatchObject({ fork: true });
  expect(parseEvent("github", "pull_request", { action: "synchronize", number: 7, pull_request: { head: { sha: SHA, ref: "feat" } } })).toMatchObject({ action: "update" });
  expect(parseEvent("github", "pull_request", { action: "closed", number: 7, pull_request: { head: { sha: SHA, ref: "feat" } } })).toMatchObject({ action: "close" });
  expect(parseEvent("github", "pull_request", { action: "labeled", number: 7 })).toMatchObject({ type: "other" });
  expect(parseEvent("gitea", "push", { ref: "refs/heads/main", after: SHA, repository: repo })).toMatchObject({ type: "push", sha: SHA });
  expect(parseEvent("gitea", "pull_request", { action: "synchronized", number: 2, pull_request: { head: { sha: SHA, ref: "b" } } })).toMatchObject({ action: "update" });
  expect(parseEvent("github", "push", { ref: "refs/heads/main", after: "not-a-sha" })).toMatchObject({ type: "other" });
});

test("GitLab events", () => {
  const project = { path_with_namespace: "grp/sub/app" };
  expect(parseEvent("gitlab", "Push Hook", { object_kind: "push", ref: "refs/heads/main", checkout_sha: SHA, after: SHA, project })).toEqual({
    type: "push",
    branch: "main",
    sha: SHA,
    repo: "grp/sub/app",
  });
  expect(parseEvent("gitlab", "Tag Push Hook", { object_kind: "tag_push", ref: "refs/tags/v1" })).toEqual({ type: "tag" });
  expect(parseEvent("gitlab", "Push Hook", { object_kind: "push", ref: "refs/heads/x", after: "0".repeat(40), checkout_sha: null })).toMatchObject({ type: "branch_deleted" });
  expect(
    parseEvent("gitlab", "Merge Request Hook", { object_attributes: { action: "open", iid: 3, last_commit: { id: SHA }, source_branch: "f", source_project_id: 1, target_project_id: 1 }, project }),
  ).toMatchObject({ type: "pull_request", action: "open", number: 3, fork: false });
  expect(
    parseEvent("gitlab", "Merge Request Hook", { object_attributes: { action: "update", iid: 3, last_commit: { id: SHA }, source_project_id: 9, target_project_id: 1 }, project }),
  ).toMatchObject({ action: "update", fork: true });
  expect(parseEvent("gitlab", "Merge Request Hook", { object_attributes: { action: "merge", iid: 3 } })).toMatchObject({ action: "close" });
});

test("Bitbucket events", () => {
  const push = (changes: unknown[]) => ({ push: { changes }, repository: { full_name: "ws/app" } });
  expect(parseEvent("bitbucket", "repo:push", push([{ new: { type: "branch", name: "main", target: { hash: SHA } } }]))).toEqual({ type: "push", branch: "main", sha: SHA, repo: "ws/app" });
  expect(parseEvent("bitbucket", "repo:push", push([{ new: { type: "tag", name: "v1", target: { hash: SHA } } }]))).toEqual({ type: "tag" });
  expect(parseEvent("bitbucket", "repo:push", push([{ new: null, old: { type: "branch", name: "gone" } }]))).toEqual({ type: "branch_deleted", branch: "gone" });
  expect(parseEvent("bitbucket", "pullrequest:fulfilled", { pullrequest: { id: 4 } })).toMatchObject({ type: "pull_request", action: "close", number: 4 });
  const ws = { full_name: "ws/app" };
  // Bitbucket abbreviates the head commit (the service resolves the full id through the API).
  expect(
    parseEvent("bitbucket", "pullrequest:created", { pullrequest: { id: 5, source: { commit: { hash: "abcdef123456" }, branch: { name: "f" }, repository: ws }, destination: { repository: ws } } }),
  ).toMatchObject({ type: "pull_request", action: "open", number: 5, sha: "abcdef123456", fork: false });
});
