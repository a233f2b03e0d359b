import { z } from "zod";

export const tokenScope = z.enum(["read", "write", "admin"]);
export const tokenCreate = z
  .object({
    name: z.string().trim().min(1).max(100),
    scope: tokenScope.default("write"),
    expires_at: z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time" }).optional(),
  })
  .strict();
export type TokenCreate = z.infer<typeof tokenCreate>;

export const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  scope: tokenScope,
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});
export type TokenView = z.infer<typeof tokenView>;
