/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core
 * (its own browser downloads can't work here), with what every scenario
 * checks — console errors and failed requests (minus the ones a scenario
 * expects), axe-core accessibility checks, and screenshots.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const chromiumAvailable = () => existsSync(CHROMIUM);
export const ARTIFACTS = join(import.meta.dir, "../../.test-artifacts");

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

export type Problem = { kind: "console" | "pageerror" | "requestfailed" | "response"; text: string };

/**
 * Records console errors, uncaught exceptions, failed requests and responses
 * ≥ 400 of every page in `context`. `expect(re)` allows the next problems
 * matching re (a scenario that provokes a 400 says so); `take()` returns and
 * clears the unexpected ones.
 */
export function watch(context: BrowserContext) {
  const seen: Problem[] = [];
  const allowed: RegExp[] = [];
  const add = (p: Problem) => {
    if (allowed.some((re) => re.test(p.text))) return;
    seen.push(p);
  };
  const attach = (page: Page) => {
    page.on("console", (m) => {
      if (m.type() === "error") add({ kind: "console", text: `${m.text()} @ ${m.location().url}` });
    });
    page.on("pageerror", (e) => add({ kind: "pageerror", text: String(e) }));
    page.on("requestfailed", (r) => {
      const why = r.failure()?.errorText ?? "";
      // A stream the page closes itself (log follow, EventSource on navigation) is not a failure.
      if (/ERR_ABORTED/.test(why) && /\/v1\/(events|deployments\/[^/]+\/logs)/.test(r.url())) return;
      add({ kind: "requestfailed", text: `${r.method()} ${r.url()} ${why}` });
    });
    page.on("response", (r) => {
      if (r.status() >= 400) add({ kind: "response", text: `${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}` });
    });
  };
  context.on("page", attach);
  for (const p of context.pages()) attach(p);
  return {
    /** Problems matching any of these are expected from now on (until `reset`). */
    expect(...res: RegExp[]) {
      allowed.push(...res);
    },
    reset() {
      allowed.length = 0;
    },
    take(): Problem[] {
      return seen.splice(0, seen.length);
    },
  };
}

let axeText: string | null = null;
const axeSource = async () => (axeText ??= `${await Bun.file(require.resolve("axe-core/axe.min.js")).text()}\n;0`);

/** The axe-core violations of the page that are serious or critical (id, impact, first targets). */
export async function axeViolations(page: Page): Promise<{ id: string; impact: string; help: string; targets: string[] }[]> {
  const has = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== "undefined");
  // page.addScriptTag({ path }) inserts an inline <script>, which the dashboard's CSP (script-src 'self')
  // rightly refuses; evaluating the same file through the DevTools protocol is not subject to the page's CSP.
  if (!has) await page.evaluate(await axeSource());
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** A full-page screenshot under .test-artifacts/ (and optionally a copy elsewhere). */
export async function screenshot(page: Page, name: string, also?: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (also) await page.screenshot({ path: also, fullPage: false });
  return file;
}

/**
 * A platform authenticator for this page through the DevTools protocol's
 * WebAuthn domain: resident keys, user verification that passes, presence
 * simulated — so navigator.credentials works headless, with no prompt.
 */
export async function virtualAuthenticator(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
}
