/**
 * Custom-domain API shapes. zod only, so the dashboard can import them too.
 */
import { z } from "zod";

export const domainStatus = z.enum(["pending", "verified", "failed"]);
export type DomainStatus = z.infer<typeof domainStatus>;

export const idParam = z.object({ id: z.string().uuid("must be a UUID") });

export const domainCreate = z
  .object({
    /** Any case, Unicode allowed (stored as punycode); "*.example.com" only when the admin allows wildcards. */
    hostname: z.string().min(1).max(300),
  })
  .strict();
export type DomainCreate = z.infer<typeof domainCreate>;

/** A DNS record the user has to create at their DNS provider. */
export const dnsRecord = z.object({
  type: z.enum(["TXT", "CNAME"]),
  /** Fully qualified name of the record. */
  name: z.string(),
  value: z.string(),
  /** verification: proves ownership (required); routing: points the name at the edge. */
  purpose: z.enum(["verification", "routing"]),
});
export type DnsRecord = z.infer<typeof dnsRecord>;

export const domain = z.object({
  id: z.string(),
  project_id: z.string(),
  /** ASCII (punycode) form, what DNS and the edges use. */
  hostname: z.string(),
  /** The same name in Unicode, for display. */
  display_hostname: z.string(),
  wildcard: z.boolean(),
  /** pending: not verified yet, checked in the background; verified: routes; failed: verification gave up or was lost. */
  status: domainStatus,
  verification_token: z.string(),
  records: z.array(dnsRecord),
  last_error: z.string().nullable(),
  last_checked_at: z.string().nullable(),
  next_check_at: z.string().nullable(),
  /** When background retries of an unverified domain stop. */
  retry_until: z.string().nullable(),
  verified_at: z.string().nullable(),
  /** Set while a verified domain's record is missing; it stops routing at unverify_at unless the record comes back. */
  failing_since: z.string().nullable(),
  unverify_at: z.string().nullable(),
  /** What the hostname was a CNAME of at the last check (null: none found). */
  cname_target: z.string().nullable(),
  created_at: z.string(),
});
export type Domain = z.infer<typeof domain>;

export const domainList = z.object({ domains: z.array(domain) });
