/**
 * Builds the Elysia app from the feature plugins. main.ts serves it; tests
 * call app.handle(new Request(...)) on it directly.
 */
import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import { z } from "zod";
import type { AppContext } from "./context";
import { httpPlugin } from "./http";
import { healthPlugin } from "./health";
import { projectsPlugin } from "./projects";
import { envPlugin } from "./envvars";
import { deploymentsPlugin } from "./deployments";
import { workersPlugin } from "./workers";
import { hubPlugin } from "./hub";
import { webPlugin } from "./web";
import { authRoutes } from "./auth/routes";
import { totpPlugin } from "./totp";
import { tokensPlugin } from "./tokens";
import { sessionsPlugin } from "./sessions";
import { auditPlugin } from "./audit";
import { usersPlugin } from "./users";
import { livePlugin } from "./live";
import { domainsPlugin } from "./domains";
import { metricsPlugin } from "./metrics";
import { usagePlugin } from "./usage";
import { alertsPlugin } from "./alerts";
import { gitprovidersPlugin } from "./gitproviders";
import { oidcPlugin } from "./oidc";
import { passkeysPlugin } from "./passkeys";

export function buildApp(ctx: AppContext) {
  return new Elysia()
    .use(httpPlugin(ctx.config.publicUrl))
    .use(
      openapi({
        path: "/v1/docs",
        specPath: "/v1/openapi.json",
        mapJsonSchema: { zod: z.toJSONSchema },
        documentation: {
          info: { title: "WiseHosting API", version: "0.1.0" },
          components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
          security: [{ bearer: [] }],
        },
      } as never),
    )
    .use(healthPlugin(ctx.sql))
    .use(authRoutes(ctx))
    .use(totpPlugin(ctx))
    .use(tokensPlugin(ctx))
    .use(sessionsPlugin(ctx))
    .use(usersPlugin(ctx))
    .use(auditPlugin(ctx))
    .use(livePlugin(ctx))
    .use(domainsPlugin(ctx))
    .use(metricsPlugin(ctx))
    .use(usagePlugin(ctx))
    .use(alertsPlugin(ctx))
    .use(gitprovidersPlugin(ctx))
    .use(oidcPlugin(ctx))
    .use(passkeysPlugin(ctx))
    .use(projectsPlugin(ctx))
    .use(envPlugin(ctx))
    .use(deploymentsPlugin(ctx))
    .use(workersPlugin(ctx))
    .use(hubPlugin(ctx))
    .use(webPlugin());
}
export type App = ReturnType<typeof buildApp>;
