/** Request bodies of the TOTP routes. Codes are only ever checked, never stored or logged. */
import { z } from "zod";

/** Six digits, as an authenticator app shows them (the SPA strips the space in "123 456"). */
export const totpCode = z.string().regex(/^[0-9]{6}$/, "must be the 6-digit code from your authenticator app");

/** As handed out ("abcd-efgh-ijkl"); case, spaces and dashes are ignored when checking. */
export const recoveryCode = z.string().min(1).max(64);

/** POST /v1/auth/totp/activate */
export const codeBody = z.object({ code: totpCode }).strict();

/** POST /v1/auth/login/totp and DELETE /v1/auth/totp: a current code, or one of the recovery codes. */
export const secondFactorBody = z.union([z.object({ code: totpCode }).strict(), z.object({ recovery_code: recoveryCode }).strict()]);

export type SecondFactorInput = z.infer<typeof secondFactorBody>;

/** Response of POST /v1/auth/totp/enroll (the SPA draws the QR code from the URI). */
export const enrollResponse = z.object({ otpauth_uri: z.string() });
/** Response of POST /v1/auth/totp/activate: shown once, never retrievable again. */
export const activateResponse = z.object({ recovery_codes: z.array(z.string()) });
