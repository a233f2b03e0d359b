/**
 * The worker's HTTP calls to the control plane: register (first start),
 * login (later starts and reconnects) and token refresh.
 */
import { tokenResponse, type TokenResponse } from "../src/protocol/hub";
import { Sensitive } from "./exec";

/** The hub answered with a non-2xx status. Network failures throw plain Errors. */
export class HubHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;

async function post(url: string, body: unknown, bearer?: Sensitive): Promise<TokenResponse> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (bearer) headers.authorization = `Bearer ${bearer.reveal()}`;
  const res = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 300);
    try {
      const err = (JSON.parse(text) as { error?: { message?: unknown } }).error;
      if (typeof err?.message === "string") message = err.message;
    } catch {
      // not JSON: keep the raw start of the body
    }
    throw new HubHttpError(res.status, `${new URL(url).pathname} returned HTTP ${res.status}: ${message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = tokenResponse.safeParse(json);
  if (!parsed.success) throw new Error(`${new URL(url).pathname} returned an unexpected body (is WH_HUB_URL the control plane?)`);
  return parsed.data;
}

export interface RegisterInput {
  secret: Sensitive;
  apiKey: Sensitive;
  name: string;
  capacityMb: number;
}

/** POST /v1/workers/register: creates the worker; the api key is the agent's own. */
export function register(hubUrl: string, input: RegisterInput): Promise<TokenResponse> {
  return post(`${hubUrl}/v1/workers/register`, {
    secret: input.secret.reveal(),
    api_key: input.apiKey.reveal(),
    name: input.name,
    capacity: input.capacityMb,
  });
}

/** POST /v1/workers/login with the stored worker id and api key. */
export function login(hubUrl: string, workerId: string, apiKey: Sensitive): Promise<TokenResponse> {
  return post(`${hubUrl}/v1/workers/login`, { worker_id: workerId, api_key: apiKey.reveal() });
}

/** POST /v1/workers/refresh-token with the current token as bearer. */
export function refreshToken(hubUrl: string, token: Sensitive): Promise<TokenResponse> {
  return post(`${hubUrl}/v1/workers/refresh-token`, {}, token);
}

/** expires_at as epoch milliseconds, whether the hub sent seconds or milliseconds. */
export function expiresAtMs(expiresAt: number): number {
  return expiresAt < 1e12 ? expiresAt * 1000 : expiresAt;
}

/** `ws(s)://…/v1/workers/ws` for an http(s) hub URL. */
export function hubSocketUrl(hubUrl: string): string {
  return `${hubUrl.replace(/^http/, "ws")}/v1/workers/ws`;
}
