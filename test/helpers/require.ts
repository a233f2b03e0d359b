/**
 * Tests that need a system part (PostgreSQL, podman, chromium) call this at
 * load time. Under CI=true a missing part is a loud failure; locally the test
 * file says clearly that it did not run.
 */
export function missingPart(part: string, available: boolean): boolean {
  if (available) return false;
  if (process.env.CI === "true") throw new Error(`${part} is required in CI but is not available`);
  console.warn(`\n*** NOT RUN: ${part} is not available on this machine; these tests did not run ***\n`);
  return true;
}
