import { z } from "zod";

export const role = z.enum(["admin", "member"]);
export const userCreate = z
  .object({
    email: z.string().trim().toLowerCase().email("is not a valid email address").max(254),
    role: role.default("member"),
    password: z.string().min(12, "must be at least 12 characters").max(1024).optional(),
    display_name: z.string().trim().min(1).max(100).optional(),
  })
  .strict();
export type UserCreate = z.infer<typeof userCreate>;

export const userPatch = z
  .object({ role: role.optional(), disabled: z.boolean().optional(), display_name: z.string().trim().min(1).max(100).nullable().optional() })
  .strict();
export type UserPatch = z.infer<typeof userPatch>;

export const inviteAccept = z
  .object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "is not an invite token"), password: z.string().min(12, "must be at least 12 characters").max(1024) })
  .strict();

export const userView = z.object({
  id: z.string(),
  email: z.string(),
  display_name: z.string().nullable(),
  role,
  disabled: z.boolean(),
  totp_enabled: z.boolean(),
  created_at: z.string(),
});
export type UserView = z.infer<typeof userView>;
