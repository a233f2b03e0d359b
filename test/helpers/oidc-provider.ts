/**
 * A real OpenID provider for tests: the `oidc-provider` package on
 * 127.0.0.1 (random port) behind node:http. The login/consent interaction is
 * finished programmatically (the "browser" names the account in a header), and
 * every request to the token endpoint is recorded before the provider sees it.
 * A test can also re-route or rewrite the next token request (mix-up and
 * wrong-audience cases) or re-sign the id_token it answers with (expiry).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, importJWK, SignJWT, decodeJwt, decodeProtectedHeader, type JWK } from "jose";
// oidc-provider ships no type declarations; the few members used here are typed below.
// @ts-expect-error -- untyped package
import ProviderCtor from "oidc-provider";

export type TestAccount = { sub: string; email?: string; email_verified?: boolean; name?: string };
export type TestClient = { client_id: string; client_secret: string };

/** What the provider's token endpoint received (as sent, before any test rewrite). */
export type RecordedTokenRequest = { headers: Record<string, string>; body: URLSearchParams };

/** Lets a test change where a token request goes or what it says. */
export type TokenRequestRewrite = (r: { headers: Record<string, string | string[] | undefined>; body: string }) => {
  headers?: Record<string, string>;
  body?: string;
  /** Another provider (same keys and clients) to answer it instead. */
  target?: TestProvider;
};

type Interaction = {
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, string>;
  grantId?: string;
};

type OidcGrant = {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
};

type OidcProvider = {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: unknown, opts?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => OidcGrant;
  on(event: string, fn: (...args: unknown[]) => void): void;
};

export type TestProvider = Awaited<ReturnType<typeof startOidcProvider>>;

/** One RSA signing key; pass it to a second provider so both sign with it. */
export async function makeSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomBytes(6).toString("hex"), alg: "RS256", use: "sig" };
}

export async function startOidcProvider(opts: {
  redirectUris: string[];
  clients: TestClient[];
  signingKey?: JWK;
  /** Client authentication methods the provider offers (discovery) and the clients are registered with. */
  clientAuth?: "client_secret_basic" | "client_secret_post";
}) {
  const signingKey = opts.signingKey ?? (await makeSigningKey());
  const accounts = new Map<string, TestAccount>();
  const tokenRequests: RecordedTokenRequest[] = [];
  const authMethod = opts.clientAuth ?? "client_secret_basic";

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const provider: OidcProvider = new ProviderCtor(issuer, {
    clients: opts.clients.map((c) => ({
      ...c,
      redirect_uris: opts.redirectUris,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: authMethod,
    })),
    clientAuthMethods: [authMethod],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(16).toString("hex")] },
    features: { devInteractions: { enabled: false } },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 600, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
    async findAccount(_ctx: unknown, sub: string) {
      const a = accounts.get(sub);
      if (!a) return undefined;
      return { accountId: sub, claims: async () => ({ ...a }) };
    },
  });
  // Errors the provider answers with are expected in refusal tests; keep the output quiet.
  provider.on("server_error", (_ctx, err) => console.error("[oidc-provider] server_error", err));

  const handle = provider.callback();
  let rewrite: TokenRequestRewrite | null = null;
  let idTokenRewrite: { fn: (claims: Record<string, unknown>) => Record<string, unknown>; key: JWK } | null = null;

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  /** Finishes login and consent in one step for the account the "browser" named. */
  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    const accountId = String(req.headers["x-test-account"] ?? "");
    if (!accounts.has(accountId)) {
      res.statusCode = 400;
      res.end(`unknown test account ${accountId}`);
      return;
    }
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id! });
    grant.addOIDCScope(details.params.scope ?? "openid");
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }

  /** Token endpoint: record, maybe rewrite or re-route, maybe re-sign the id_token in the answer. */
  async function token(req: IncomingMessage, res: ServerResponse) {
    const raw = await readBody(req);
    const recorded: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") recorded[k] = v;
    tokenRequests.push({ headers: recorded, body: new URLSearchParams(raw) });
    let body = raw;
    let target: TestProvider = self;
    if (rewrite) {
      const r = rewrite({ headers: req.headers, body: raw });
      rewrite = null;
      if (r.headers) Object.assign(req.headers, r.headers);
      if (r.body !== undefined) body = r.body;
      if (r.target) target = r.target;
    }
    (req as IncomingMessage & { body?: string }).body = body;
    req.headers["content-length"] = String(Buffer.byteLength(body));
    const resign = idTokenRewrite;
    idTokenRewrite = null;
    if (!resign) return target.handleRaw(req, res);
    // Ask the provider itself (past this layer), re-sign its id_token with the same key, send the answer on.
    const forward: Record<string, string> = { "x-test-raw": "1" };
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "content-length") forward[k] = v;
    const answer = await fetch(`${target.issuer}/token`, { method: "POST", headers: forward, body });
    const json = (await answer.json()) as Record<string, unknown>;
    if (typeof json.id_token === "string") json.id_token = await signIdToken(resign.fn(decodeJwt(json.id_token) as Record<string, unknown>), json.id_token, resign.key);
    const out = JSON.stringify(json);
    res.writeHead(answer.status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": String(Buffer.byteLength(out)) });
    res.end(out);
  }

  async function signIdToken(claims: Record<string, unknown>, original: string, jwk: JWK): Promise<string> {
    const header = decodeProtectedHeader(original);
    const key = await importJWK(jwk, "RS256");
    return new SignJWT(claims).setProtectedHeader({ alg: header.alg ?? "RS256", kid: header.kid, typ: header.typ }).sign(key);
  }

  server.on("request", (req, res) => {
    const path = new URL(req.url ?? "/", issuer).pathname;
    const raw = req.headers["x-test-raw"] === "1";
    const run = raw ? Promise.resolve(handle(req, res)) : path.startsWith("/interaction/") ? interaction(req, res) : path === "/token" && req.method === "POST" ? token(req, res) : Promise.resolve(handle(req, res));
    run.catch((err) => {
      console.error("[oidc-provider helper]", err);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });

  /**
   * Plays the browser: opens `authorizeUrl` with a fresh cookie jar, signs in
   * as `accountSub`, follows the redirects and returns the URL the provider
   * sends the browser back to (the client's redirect URI with code and state).
   */
  async function login(authorizeUrl: string, accountSub: string): Promise<URL> {
    const jar = new Map<string, string>();
    let url = new URL(authorizeUrl);
    for (let hop = 0; hop < 10; hop++) {
      const res = await fetch(url, {
        redirect: "manual",
        headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "), "x-test-account": accountSub },
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair, ...attrs] = c.split(";");
        const i = pair!.indexOf("=");
        const name = pair!.slice(0, i).trim();
        const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
        if (expired) jar.delete(name);
        else jar.set(name, pair!.slice(i + 1).trim());
      }
      await res.arrayBuffer();
      const location = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !location) throw new Error(`provider answered ${res.status} at ${url.pathname} (hop ${hop})`);
      const next = new URL(location, url);
      if (opts.redirectUris.some((r) => next.href.startsWith(r + "?") || next.href === r)) return next;
      if (next.origin !== url.origin) throw new Error(`provider redirected elsewhere: ${next.origin}`);
      url = next;
    }
    throw new Error("too many redirects at the provider");
  }

  const self = {
    issuer,
    port,
    signingKey,
    accounts,
    /** Token requests as they arrived, oldest first. */
    tokenRequests,
    login,
    /** The next token request is rewritten (or sent to another provider) by `fn`. */
    rewriteNextTokenRequest(fn: TokenRequestRewrite) {
      rewrite = fn;
    },
    /**
     * The id_token of the next token response is re-signed with the claims `fn`
     * returns: with the provider's own key (same kid) unless another `key` is given.
     */
    resignNextIdToken(fn: (claims: Record<string, unknown>) => Record<string, unknown>, key: JWK = signingKey) {
      idTokenRewrite = { fn, key };
    },
    /** The provider's own handler, past the recording layer. */
    handleRaw(req: IncomingMessage, res: ServerResponse): void {
      handle(req, res);
    },
    async close() {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return self;
}
