/**
 * Repository URL rules, shared by the control plane (validation before saving)
 * and the agent (checked again right before git runs). Depends on nothing.
 */

/** Returns why `url` is refused, or null when git may be given it. */
export function repoUrlProblem(url: string, allowLocal: boolean): string | null {
  if (url.length === 0 || url.length > 2048) return "must be 1 to 2048 characters";
  if (/[\x00-\x20\x7f]/.test(url)) return "must not contain whitespace or control characters";
  if (url.startsWith("-")) return "must not start with '-'";
  if (url.includes("::")) return "transport helpers (<transport>::<address>) are not allowed";
  const local = url.startsWith("file://") || url.startsWith("/");
  if (local) {
    if (!allowLocal) return "local repositories are disabled (WH_ALLOW_LOCAL_REPOS=false); use an https:// URL";
    const path = url.startsWith("file://") ? url.slice("file://".length) : url;
    if (!path.startsWith("/")) return "a file:// URL must hold an absolute path";
    if (path.split("/").includes("..")) return "must not contain '..'";
    return null;
  }
  if (!url.startsWith("https://")) return allowLocal ? "must be an https://, file:// or absolute path" : "must be an https:// URL";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a valid URL";
  }
  if (parsed.username || parsed.password) return "must not carry credentials; link a git provider instead";
  if (!parsed.hostname || parsed.hostname.startsWith("-")) return "must name a host";
  return null;
}
