/**
 * A real browser for tests: Debian's Chromium driven by playwright-core, with
 * WebAuthn virtual authenticators from the Chrome DevTools Protocol. The page
 * scripts do what a dashboard would: fetch options from our API, call
 * navigator.credentials.create/get, and post the result back as JSON.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const chromiumAvailable = () => existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/**
 * Adds a platform authenticator to this page (one per page): CTAP2, internal
 * transport, discoverable credentials, user verification that always passes,
 * presence simulated (no prompt).
 */
export async function addVirtualAuthenticator(page: Page): Promise<string> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

export type PageResponse = { status: number; json: any; text: string };

/** fetch() from inside the page: same origin, the browser's cookies, Origin sent as a browser does. */
export function pageFetch(page: Page, method: string, path: string, body?: unknown): Promise<PageResponse> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const res = await fetch(path, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown = undefined;
      try {
        json = JSON.parse(text);
      } catch {}
      return { status: res.status, json, text };
    },
    { method, path, body },
  );
}

/** navigator.credentials.create() with options JSON from our API; the credential as JSON, binary fields base64url. */
export async function createCredential(page: Page, options: unknown): Promise<any> {
  await page.bringToFront(); // WebAuthn needs the focused tab
  return page.evaluate(async (opts: any) => {
    const dec = (s: string) => {
      const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
      return Uint8Array.from(b, (c) => c.charCodeAt(0));
    };
    const enc = (buf: ArrayBuffer) => {
      let s = "";
      for (const x of new Uint8Array(buf)) s += String.fromCharCode(x);
      return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    };
    const publicKey = {
      ...opts,
      challenge: dec(opts.challenge),
      user: { ...opts.user, id: dec(opts.user.id) },
      excludeCredentials: (opts.excludeCredentials ?? []).map((c: any) => ({ ...c, id: dec(c.id) })),
    };
    const cred = (await navigator.credentials.create({ publicKey })) as PublicKeyCredential;
    const r = cred.response as AuthenticatorAttestationResponse;
    return {
      id: cred.id,
      rawId: enc(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: { clientDataJSON: enc(r.clientDataJSON), attestationObject: enc(r.attestationObject), transports: r.getTransports() },
    };
  }, options);
}

/** navigator.credentials.get() with options JSON from our API; the assertion as JSON, binary fields base64url. */
export async function getAssertion(page: Page, options: unknown): Promise<any> {
  await page.bringToFront();
  return page.evaluate(async (opts: any) => {
    const dec = (s: string) => {
      const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
      return Uint8Array.from(b, (c) => c.charCodeAt(0));
    };
    const enc = (buf: ArrayBuffer) => {
      let s = "";
      for (const x of new Uint8Array(buf)) s += String.fromCharCode(x);
      return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    };
    const publicKey = {
      ...opts,
      challenge: dec(opts.challenge),
      allowCredentials: (opts.allowCredentials ?? []).map((c: any) => ({ ...c, id: dec(c.id) })),
    };
    const cred = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential;
    const r = cred.response as AuthenticatorAssertionResponse;
    return {
      id: cred.id,
      rawId: enc(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: {
        clientDataJSON: enc(r.clientDataJSON),
        authenticatorData: enc(r.authenticatorData),
        signature: enc(r.signature),
        userHandle: r.userHandle ? enc(r.userHandle) : undefined,
      },
    };
  }, options);
}
