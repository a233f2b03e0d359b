/**
 * A tiny router on the history API: the current location as signals, and
 * navigate(). Clicks on same-origin <a href> links are taken over, so plain
 * links work as in any page (open in new tab, copy link) and as SPA moves.
 */
import { computed, signal } from "@preact/signals";

export const path = signal(location.pathname);
export const search = signal(location.search);
export const query = computed(() => new URLSearchParams(search.value));

function sync() {
  path.value = location.pathname;
  search.value = location.search;
}

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  const url = new URL(to, location.origin);
  const here = location.pathname + location.search + location.hash;
  const next = url.pathname + url.search + url.hash;
  if (next !== here) {
    if (opts.replace) history.replaceState(null, "", next);
    else history.pushState(null, "", next);
  }
  sync();
  if (!opts.replace) window.scrollTo(0, 0);
}

/** The page to come back to after signing in: where the person is now. */
export const here = () => location.pathname + location.search;

/** Matches "/projects/:id/:tab?" style patterns; null when it doesn't match. */
export function match(pattern: string, p: string): Record<string, string> | null {
  const a = pattern.split("/").filter(Boolean);
  const b = p.split("/").filter(Boolean);
  const out: Record<string, string> = {};
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const seg = a[i];
    if (seg === undefined) return null;
    const optional = seg.endsWith("?");
    const name = optional ? seg.slice(1, -1) : seg.slice(1);
    if (seg.startsWith(":")) {
      if (b[i] === undefined) {
        if (optional) continue;
        return null;
      }
      out[name] = decodeURIComponent(b[i]!);
    } else if (seg !== b[i]) return null;
  }
  return out;
}

export function startRouter() {
  addEventListener("popstate", sync);
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || !a.href || a.target || a.hasAttribute("download") || a.dataset.native !== undefined) return;
    const url = new URL(a.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/v1/")) return;
    e.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
}
