/**
 * The pure parts of passkeys: who the relying party is, reading the challenge
 * and signature counter out of a browser's response, and the user handle.
 * No database, no I/O; unit-tested in webauthn.test.ts.
 */

export const RP_NAME = "WiseHosting";

/** A challenge is good for this long (and the browser is told to wait as long). */
export const CHALLENGE_TTL_S = 5 * 60;

/** The relying party: its id is the public URL's host name, the expected origin its origin. */
export function relyingParty(publicUrl: string): { rpID: string; origin: string; name: string } {
  const u = new URL(publicUrl);
  return { rpID: u.hostname, origin: u.origin, name: RP_NAME };
}

/** The transports a browser may report (WebAuthn L3); anything else is dropped. */
const TRANSPORTS = new Set(["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"]);

export function cleanTransports(list: readonly string[] | undefined): string[] {
  return [...new Set((list ?? []).filter((t) => TRANSPORTS.has(t)))].sort();
}

function fromBase64Url(s: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
  return Buffer.from(s, "base64url");
}

/**
 * The challenge and ceremony type the browser signed, from clientDataJSON
 * (base64url JSON). Null when it is not that shape.
 */
export function readClientData(clientDataJSON: string): { challenge: string; type: string } | null {
  const raw = fromBase64Url(clientDataJSON);
  if (!raw) return null;
  let data: unknown;
  try {
    data = JSON.parse(raw.toString("utf8"));
  } catch {
    return null;
  }
  if (typeof data !== "object" || data === null) return null;
  const { challenge, type } = data as { challenge?: unknown; type?: unknown };
  if (typeof challenge !== "string" || !/^[A-Za-z0-9_-]{16,128}$/.test(challenge) || typeof type !== "string") return null;
  return { challenge, type };
}

/**
 * The signature counter in authenticatorData: 32 bytes of RP id hash, one
 * byte of flags, then a big-endian uint32. Null when too short.
 */
export function signCount(authenticatorData: string): number | null {
  const raw = fromBase64Url(authenticatorData);
  if (!raw || raw.length < 37) return null;
  return raw.readUInt32BE(33);
}

/**
 * Clone detection (WebAuthn §6.1.1): when either side counts, the new counter
 * must be above the stored one. An authenticator that always says 0 (many
 * synced passkeys) is not counting, and passes.
 */
export function counterRegressed(stored: number, received: number): boolean {
  return (stored > 0 || received > 0) && received <= stored;
}

/** The WebAuthn user handle we give a user: the bytes of their id, which names no one. */
export function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId, "utf8"));
}

/** Whether a user handle a browser sent back (base64url) is this user's. Absent handles pass. */
export function handleMatches(handle: string | null | undefined, userId: string): boolean {
  if (!handle) return true;
  return fromBase64Url(handle)?.toString("utf8") === userId;
}
