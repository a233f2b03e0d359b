/**
 * Control-plane configuration: read from the environment once, at start-up,
 * and validated with zod. A bad value stops start-up with one line naming it.
 */
import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "must be host:port")
  .refine((v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65535, "port must be ≤ 65535");

/** A git provider's base URL: https (plain http only on loopback, for tests), without a trailing slash. */
const baseUrl = z
  .string()
  .url("must be a URL like https://git.example.com")
  .refine((v) => {
    const u = new URL(v);
    return u.protocol === "https:" || (u.protocol === "http:" && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(u.hostname));
  }, "must be an https:// URL (http:// only on loopback)")
  .transform((v) => v.replace(/\/+$/, ""));

/** DNS servers as node:dns setServers takes them: IPv4[:port], IPv6, or [IPv6]:port, comma-separated. */
const dnsServers = z
  .string()
  .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
  .refine(
    (list) =>
      list.length > 0 &&
      list.every((s) => {
        const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?|\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?|([0-9a-fA-F:]*:[0-9a-fA-F:.]*))$/.exec(s);
        const port = m?.[2] ?? m?.[4];
        return !!m && (port === undefined || Number(port) <= 65535);
      }),
    "must be a comma-separated list of IP[:port] (IPv6 with a port as [addr]:port)",
  );

const hex64 = z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters (32 bytes)");

/** The variables, their defaults and what they mean; --help prints this table. */
export const configSchema = z.object({
  WH_LISTEN: hostPort.default("127.0.0.1:8080"),
  WH_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .optional(),
  WH_DATA_DIR: z.string().min(1).default("./wisehosting-data"),
  WH_PUBLIC_URL: z.string().url("must be a URL like https://paas.example.com").optional(),
  WH_MASTER_KEY: hex64.optional(),
  WH_WORKER_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  WH_INGRESS_LISTEN: hostPort.default("127.0.0.1:8000"),
  WH_APPS_DOMAIN: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "must be a lowercase domain name")
    .default("localhost"),
  WH_ALLOW_LOCAL_REPOS: bool.default(false),
  WH_PASSWORD_LOGIN: bool.default(true),
  WH_SIGNUP: z.enum(["invite", "open"], { message: "must be invite or open" }).default("invite"),
  WH_SESSION_IDLE_HOURS: z.coerce.number().int().min(1).max(720).default(168),
  WH_API_RATE_PER_MIN: z.coerce.number().int().min(1).default(1200),
  WH_SIGNIN_RATE_PER_MIN: z.coerce.number().int().min(1).default(10),
  WH_SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/?#]+/, "must be smtp://[user:pass@]host[:port][?from=addr] or smtps://…")
    .optional(),
  WH_ALLOW_PRIVATE_WEBHOOKS: bool.default(false),
  WH_WORKER_TIMEOUT_S: z.coerce.number().int().min(2).max(3600).default(30),
  WH_MAX_CONCURRENT_MOVES: z.coerce.number().int().min(1).max(1000).default(10),
  WH_DNS_SERVERS: dnsServers.optional(),
  WH_ALLOW_WILDCARD_DOMAINS: bool.default(false),
  WH_DOMAIN_GRACE_HOURS: z.coerce.number().min(0).max(8760).default(48),
  WH_CADDY_ADMIN_URL: z.string().url("must be Caddy's admin API URL, e.g. http://127.0.0.1:2019").optional(),
  WH_CADDY_SERVER: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a Caddy server name: letters, digits, '-' and '_'").default("wisehosting"),
  WH_CADDY_LISTEN: z.string().regex(/^[^\s,]+(,[^\s,]+)*$/, "must be a comma-separated list of Caddy listen addresses").optional(),
  WH_CADDY_TLS: z.enum(["acme", "internal", "off"], { message: "must be acme, internal or off" }).default("acme"),
  WH_CADDY_ASK_URL: z.string().url("must be a URL Caddy reaches the control plane's /v1/edge/ask at").optional(),
  WH_GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  WH_GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  WH_GOOGLE_ISSUER: z.string().url().default("https://accounts.google.com"),
  WH_OIDC_ISSUER: z.string().url("must be the provider's issuer URL").optional(),
  WH_OIDC_CLIENT_ID: z.string().min(1).optional(),
  WH_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  WH_OIDC_NAME: z.string().min(1).max(40).default("SSO"),
  WH_GITHUB_CLIENT_ID: z.string().min(1).optional(),
  WH_GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  WH_GITHUB_URL: baseUrl.default("https://github.com"),
  WH_GITHUB_API_URL: baseUrl.default("https://api.github.com"),
  WH_GITLAB_CLIENT_ID: z.string().min(1).optional(),
  WH_GITLAB_CLIENT_SECRET: z.string().min(1).optional(),
  WH_GITLAB_URL: baseUrl.default("https://gitlab.com"),
  WH_BITBUCKET_CLIENT_ID: z.string().min(1).optional(),
  WH_BITBUCKET_CLIENT_SECRET: z.string().min(1).optional(),
  WH_BITBUCKET_URL: baseUrl.default("https://bitbucket.org"),
  WH_BITBUCKET_API_URL: baseUrl.default("https://api.bitbucket.org/2.0"),
  WH_CODEBERG_CLIENT_ID: z.string().min(1).optional(),
  WH_CODEBERG_CLIENT_SECRET: z.string().min(1).optional(),
  WH_CODEBERG_URL: baseUrl.default("https://codeberg.org"),
  WH_FORGEJO_URL: baseUrl.optional(),
  WH_FORGEJO_CLIENT_ID: z.string().min(1).optional(),
  WH_FORGEJO_CLIENT_SECRET: z.string().min(1).optional(),
  WH_FORGEJO_NAME: z.string().min(1).max(40).default("Forgejo"),
});

export const configHelp: Record<keyof z.infer<typeof configSchema>, string> = {
  WH_LISTEN: "API and dashboard address (default 127.0.0.1:8080)",
  WH_DATABASE_URL: "external PostgreSQL URL; unset = embedded PostgreSQL (PGlite) under WH_DATA_DIR",
  WH_DATA_DIR: "where generated secrets and the embedded database live (default ./wisehosting-data)",
  WH_PUBLIC_URL: "the URL people and agents reach the control plane at (default http://WH_LISTEN)",
  WH_MASTER_KEY: "64 hex chars; encrypts secrets at rest (generated into WH_DATA_DIR when unset)",
  WH_WORKER_SECRET: "cluster secret agents register with (generated into WH_DATA_DIR when unset)",
  WH_INGRESS_LISTEN: "built-in HTTP ingress address (default 127.0.0.1:8000)",
  WH_APPS_DOMAIN: "apps are served at <project>.<WH_APPS_DOMAIN> (default localhost)",
  WH_ALLOW_LOCAL_REPOS: "allow file:// and local-path repositories (default false; for tests and dev)",
  WH_PASSWORD_LOGIN: "email + password sign-in (default true)",
  WH_SIGNUP: "invite (default: the admin creates users) or open (a new OIDC identity creates a member)",
  WH_SESSION_IDLE_HOURS: "a session unused this long ends (default 168 = 7 days; absolute limit 30 days)",
  WH_API_RATE_PER_MIN: "API requests per minute per token or session (default 1200)",
  WH_SIGNIN_RATE_PER_MIN: "sign-in and second-factor attempts per minute, per IP and per account (default 10)",
  WH_SMTP_URL: "SMTP server for e-mail alerts: smtp://[user:pass@]host[:587][?from=alerts@example.com] (STARTTLS when offered) or smtps://host[:465]",
  WH_ALLOW_PRIVATE_WEBHOOKS: "allow alert webhooks to loopback, link-local and private addresses (default false: refused, SSRF)",
  WH_WORKER_TIMEOUT_S: "a worker silent this long is offline and its apps move elsewhere (default 30)",
  WH_MAX_CONCURRENT_MOVES: "failover moves in flight across the fleet at once (default 10)",
  WH_DNS_SERVERS: "DNS servers for domain verification, comma-separated IP[:port] (default: the system's resolvers)",
  WH_ALLOW_WILDCARD_DOMAINS: "allow custom domains like *.example.com (default false)",
  WH_DOMAIN_GRACE_HOURS: "a verified domain whose TXT record is gone keeps routing this long, then is unverified (default 48)",
  WH_CADDY_ADMIN_URL: "drive Caddy through its admin API at this URL (e.g. http://127.0.0.1:2019) instead of the built-in ingress",
  WH_CADDY_SERVER: "the Caddy HTTP server whose routes the control plane manages (default wisehosting; created when missing)",
  WH_CADDY_LISTEN: "listen addresses when the control plane creates that server (default :443, or :80 with WH_CADDY_TLS=off)",
  WH_CADDY_TLS: "acme (default: on-demand certificates from Let's Encrypt/ZeroSSL), internal (Caddy's own CA) or off (plain HTTP)",
  WH_CADDY_ASK_URL: "where Caddy asks before issuing a certificate (default http://WH_LISTEN/v1/edge/ask)",
  WH_GOOGLE_CLIENT_ID: "Google sign-in client id (with WH_GOOGLE_CLIENT_SECRET)",
  WH_GOOGLE_CLIENT_SECRET: "Google sign-in client secret",
  WH_GOOGLE_ISSUER: "Google's issuer URL (default https://accounts.google.com; changeable for tests)",
  WH_OIDC_ISSUER: "any other OpenID provider: issuer URL (discovery), with WH_OIDC_CLIENT_ID/SECRET",
  WH_OIDC_CLIENT_ID: "OpenID client id",
  WH_OIDC_CLIENT_SECRET: "OpenID client secret",
  WH_OIDC_NAME: "button label of the generic OpenID provider (default SSO)",
  WH_GITHUB_CLIENT_ID: "GitHub OAuth app client id, to link GitHub accounts (with WH_GITHUB_CLIENT_SECRET)",
  WH_GITHUB_CLIENT_SECRET: "GitHub OAuth app client secret",
  WH_GITHUB_URL: "GitHub web URL (default https://github.com; GitHub Enterprise: https://ghe.example.com)",
  WH_GITHUB_API_URL: "GitHub REST API URL (default https://api.github.com; Enterprise: https://ghe.example.com/api/v3)",
  WH_GITLAB_CLIENT_ID: "GitLab OAuth application id, to link GitLab accounts (with WH_GITLAB_CLIENT_SECRET)",
  WH_GITLAB_CLIENT_SECRET: "GitLab OAuth application secret",
  WH_GITLAB_URL: "GitLab URL (default https://gitlab.com; or your self-hosted GitLab; the API is <url>/api/v4)",
  WH_BITBUCKET_CLIENT_ID: "Bitbucket OAuth consumer key, to link Bitbucket accounts (with WH_BITBUCKET_CLIENT_SECRET)",
  WH_BITBUCKET_CLIENT_SECRET: "Bitbucket OAuth consumer secret",
  WH_BITBUCKET_URL: "Bitbucket web URL (default https://bitbucket.org)",
  WH_BITBUCKET_API_URL: "Bitbucket REST API URL (default https://api.bitbucket.org/2.0)",
  WH_CODEBERG_CLIENT_ID: "Codeberg (Forgejo) OAuth2 application client id, to link Codeberg accounts",
  WH_CODEBERG_CLIENT_SECRET: "Codeberg OAuth2 application client secret",
  WH_CODEBERG_URL: "Codeberg URL (default https://codeberg.org; the API is <url>/api/v1)",
  WH_FORGEJO_URL: "any Forgejo or Gitea instance, e.g. https://git.example.com (with WH_FORGEJO_CLIENT_ID/SECRET)",
  WH_FORGEJO_CLIENT_ID: "Forgejo/Gitea OAuth2 application client id",
  WH_FORGEJO_CLIENT_SECRET: "Forgejo/Gitea OAuth2 application client secret",
  WH_FORGEJO_NAME: "label of the Forgejo/Gitea instance in the dashboard (default Forgejo)",
};

export type RawConfig = z.infer<typeof configSchema>;

/** Config after secrets were filled in from WH_DATA_DIR. */
export type Config = RawConfig & {
  publicUrl: string;
  masterKey: Buffer;
  workerSecret: string;
};

export class ConfigError extends Error {}

/** Parses env; throws ConfigError with one line naming the first bad variable. */
export function parseConfig(env: Record<string, string | undefined>): RawConfig {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== "") picked[key] = v;
  }
  const r = configSchema.safeParse(picked);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(`${String(issue.path[0])}: ${issue.message}`);
  }
  return r.data;
}

/** Splits "host:port" (IPv6 in brackets allowed). */
export function splitHostPort(v: string): { hostname: string; port: number } {
  const i = v.lastIndexOf(":");
  return { hostname: v.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(v.slice(i + 1)) };
}
