/**
 * CSRF for cookie-authenticated requests: the browser must say the request
 * comes from our own origin. Origin is checked when sent; otherwise
 * Sec-Fetch-Site must be same-origin. A request with neither is refused.
 */
export function isSameOrigin(headers: Headers, publicUrl: string): boolean {
  const origin = headers.get("origin");
  if (origin !== null) return origin === new URL(publicUrl).origin;
  const site = headers.get("sec-fetch-site");
  return site === "same-origin";
}
