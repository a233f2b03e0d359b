/**
 * Which OpenID providers are configured, and what we learn from them: the
 * discovery document (fetched with a timeout, cached for an hour, its issuer
 * checked against the configured one) and the signing keys (jose's remote
 * JWKSet, which caches keys and refetches on an unknown kid, with a cooldown).
 */
import { createRemoteJWKSet, type JWSAlgorithm } from "jose";
import type { Config } from "../config";
import { ApiError, NotFound } from "../http/errors";
import { discoveryDocument, type DiscoveryDocument, type ProviderId } from "./model";

export const FETCH_TIMEOUT_MS = 10_000;
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
/** Google documents both spellings for `iss` in its id_tokens. */
const GOOGLE_ISSUER = "https://accounts.google.com";

export type ProviderConfig = {
  id: ProviderId;
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Further `iss` values accepted in id_tokens (only Google's documented bare-host form). */
  issuerAliases: string[];
};

/** A provider the operator did not configure looks like a route that does not exist. */
export function providerConfig(config: Config, id: string): ProviderConfig {
  if (id === "google" && config.WH_GOOGLE_CLIENT_ID && config.WH_GOOGLE_CLIENT_SECRET) {
    const issuer = stripSlash(config.WH_GOOGLE_ISSUER);
    return {
      id,
      name: "Google",
      issuer,
      clientId: config.WH_GOOGLE_CLIENT_ID,
      clientSecret: config.WH_GOOGLE_CLIENT_SECRET,
      issuerAliases: issuer === GOOGLE_ISSUER ? ["accounts.google.com"] : [],
    };
  }
  if (id === "oidc" && config.WH_OIDC_ISSUER && config.WH_OIDC_CLIENT_ID && config.WH_OIDC_CLIENT_SECRET) {
    return {
      id,
      name: config.WH_OIDC_NAME,
      issuer: stripSlash(config.WH_OIDC_ISSUER),
      clientId: config.WH_OIDC_CLIENT_ID,
      clientSecret: config.WH_OIDC_CLIENT_SECRET,
      issuerAliases: [],
    };
  }
  throw new NotFound("sign-in provider");
}

/** Display name of a provider id, configured or not (for listing old identities). */
export function providerName(config: Config, id: string): string {
  return id === "google" ? "Google" : id === "oidc" ? config.WH_OIDC_NAME : id;
}

const stripSlash = (u: string) => u.replace(/\/+$/, "");

/** The provider could not be reached or answered nonsense: not the user's fault. */
export class ProviderUnavailable extends ApiError {
  constructor(message: string) {
    super(502, "provider_unavailable", message);
  }
}

const discoveryCache = new Map<string, { doc: DiscoveryDocument; at: number } | { pending: Promise<DiscoveryDocument> }>();

/**
 * The provider's discovery document, from `${issuer}/.well-known/openid-configuration`.
 * Its `issuer` must be the configured one (a trailing slash aside); the
 * document's own spelling is what id_tokens are checked against.
 */
export async function discover(p: ProviderConfig, now = Date.now()): Promise<DiscoveryDocument> {
  const hit = discoveryCache.get(p.issuer);
  if (hit && "doc" in hit && now - hit.at < DISCOVERY_TTL_MS) return hit.doc;
  if (hit && "pending" in hit) return hit.pending;
  const pending = fetchDiscovery(p);
  discoveryCache.set(p.issuer, { pending });
  try {
    const doc = await pending;
    discoveryCache.set(p.issuer, { doc, at: Date.now() });
    return doc;
  } catch (e) {
    discoveryCache.delete(p.issuer);
    throw e;
  }
}

async function fetchDiscovery(p: ProviderConfig): Promise<DiscoveryDocument> {
  const url = `${p.issuer}/.well-known/openid-configuration`;
  let body: unknown;
  try {
    const res = await fetch(url, { headers: { accept: "application/json" }, redirect: "error", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = await res.json();
  } catch (e) {
    throw new ProviderUnavailable(`${p.name}: discovery document not available (${(e as Error).message})`);
  }
  const r = discoveryDocument.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ProviderUnavailable(`${p.name}: discovery document is invalid (${i.path.join(".")}: ${i.message})`);
  }
  if (stripSlash(r.data.issuer) !== p.issuer) throw new ProviderUnavailable(`${p.name}: discovery issuer ${r.data.issuer} is not the configured ${p.issuer}`);
  return r.data;
}

const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** One remote key set per jwks_uri, shared by every request (jose caches the keys in it). */
export function remoteKeys(jwksUri: string) {
  let set = jwksCache.get(jwksUri);
  if (!set) {
    if (jwksCache.size > 20) jwksCache.clear();
    set = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: FETCH_TIMEOUT_MS, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
    jwksCache.set(jwksUri, set);
  }
  return set;
}

const ASYMMETRIC: JWSAlgorithm[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

/** Signature algorithms accepted for id_tokens: the provider's asymmetric ones (never none or HS*), RS256 by default. */
export function idTokenAlgorithms(doc: DiscoveryDocument): JWSAlgorithm[] {
  const offered = doc.id_token_signing_alg_values_supported;
  if (!offered) return ["RS256"];
  const ok = ASYMMETRIC.filter((a) => offered.includes(a));
  return ok.length > 0 ? ok : ["RS256"];
}

