import { z } from "zod";

export const auditQuery = z
  .object({
    actor: z.string().uuid().optional(),
    action: z.string().regex(/^[a-z_.]{1,64}$/, "an action name like auth.login").optional(),
    target: z.string().max(200).optional(),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    cursor: z.string().regex(/^\d{1,19}$/, "a cursor from a previous page").optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
export type AuditQuery = z.infer<typeof auditQuery>;

export const auditEvent = z.object({
  id: z.string(),
  at: z.string(),
  actor_id: z.string().nullable(),
  actor_email: z.string().nullable(),
  action: z.string(),
  target_type: z.string().nullable(),
  target_id: z.string().nullable(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  outcome: z.enum(["success", "failure"]),
  detail: z.record(z.string(), z.unknown()),
});
