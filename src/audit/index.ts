/** GET /v1/audit-events: your own events; an admin sees everyone's. Filters and cursor pagination. */
import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { authPlugin } from "../auth";
import { auditEvent, auditQuery } from "./model";
import { listAuditEvents } from "./queries";

export function auditPlugin(ctx: AppContext) {
  return new Elysia({ prefix: "/v1/audit-events" }).use(authPlugin(ctx)).get(
    "/",
    async ({ user, query }) => {
      // A member's filter on actor is ignored in favour of themselves: they never see others' rows.
      const actor = user.role === "admin" ? query.actor : user.id;
      const rows = await listAuditEvents(ctx.sql, {
        actor_id: actor,
        action: query.action,
        target_id: query.target,
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
        before: query.cursor,
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      return {
        events: page.map((r) => ({ ...r, id: String(r.id), at: r.at.toISOString() })),
        next_cursor: rows.length > query.limit ? String(page[page.length - 1]!.id) : null,
      };
    },
    {
      auth: "read",
      query: auditQuery,
      response: z.object({ events: z.array(auditEvent), next_cursor: z.string().nullable() }),
      detail: { summary: "Audit trail, newest first (?actor&action&target&from&to&cursor&limit)" },
    },
  );
}
