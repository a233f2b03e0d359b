/**
 * What the control plane wants in Caddy's config, and the admin API calls
 * that take the running config there. Pure: reads a config, returns calls.
 *
 * Owned by the control plane, and only these:
 *  - routes with an @id starting "wh-route-" in the server WH_CADDY_SERVER,
 *    one per served hostname, each a reverse proxy to the worker address and
 *    published port of the project's current deployment;
 *  - with TLS on, the automation policy @id "wh-tls-policy" (on-demand
 *    certificates for exactly our hostnames) and on_demand.ask, the URL Caddy
 *    asks before issuing a certificate;
 *  - the server itself only when it is missing (created with our routes).
 * Any other route, policy or server is left exactly as it is. Our routes go
 * before the others (so a catch-all of the operator's can't shadow them), and
 * our exact hostnames before our wildcards.
 */
import type { RouteEntry } from "../ingress/routes";
import { seg, type AdminOp } from "./caddy";

export const ROUTE_PREFIX = "wh-route-";
export const POLICY_ID = "wh-tls-policy";

export type EdgeSettings = {
  server: string;
  tls: "acme" | "internal" | "off";
  listen: string[];
  askUrl: string;
};

type Json = Record<string, unknown>;
type Route = Json & { "@id": string };

export const routeId = (hostname: string) => ROUTE_PREFIX + hostname.replace(/^\*\./, "_.");

const dial = (address: string, port: number) => (address.includes(":") && !address.startsWith("[") ? `[${address}]:${port}` : `${address}:${port}`);

export function desiredRoutes(entries: RouteEntry[]): Route[] {
  return entries.map((e) => ({
    "@id": routeId(e.hostname),
    match: [{ host: [e.hostname] }],
    handle: [{ handler: "reverse_proxy", upstreams: [{ dial: dial(e.upstream.address, e.upstream.port) }] }],
    terminal: true,
  }));
}

export function desiredPolicy(entries: RouteEntry[], s: EdgeSettings): Json | null {
  if (s.tls === "off" || entries.length === 0) return null;
  const policy: Json = { "@id": POLICY_ID, subjects: [...new Set(entries.map((e) => e.hostname))].sort(), on_demand: true };
  if (s.tls === "internal") policy.issuers = [{ module: "internal" }];
  return policy;
}

/** JSON with object keys sorted, to compare configs the way Caddy stores them. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v as Json)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Json)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v ?? null);
}

const isObj = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);
const isWild = (r: Json) => typeof r["@id"] === "string" && (r["@id"] as string).startsWith(ROUTE_PREFIX + "_.");
const ours = (r: unknown): r is Route => isObj(r) && typeof r["@id"] === "string" && (r["@id"] as string).startsWith(ROUTE_PREFIX);

/**
 * The calls that make `config` hold exactly our desired routes (and TLS
 * settings), touching nothing else. Works on a copy it updates as it goes, so
 * each call is planned against the config the previous ones leave.
 */
export function plan(config: unknown, entries: RouteEntry[], s: EdgeSettings): AdminOp[] {
  const recorded: AdminOp[] = [];
  // Bodies are copied when recorded: the working copy keeps changing afterwards.
  const ops = { push: (op: AdminOp) => recorded.push(op.body === undefined ? op : { ...op, body: structuredClone(op.body) }) };
  let root: unknown = config === null || config === undefined ? null : structuredClone(config);

  /** Sets a value at a path, creating missing parents: one POST on the deepest existing object. */
  const setAt = (path: string[], value: unknown, why: string) => {
    if (!isObj(root)) {
      let v = value;
      for (let i = path.length - 1; i >= 0; i--) v = { [path[i]!]: v };
      ops.push({ method: "POST", path: "/config/", body: v, why });
      root = v;
      return;
    }
    let node: Json = root;
    let i = 0;
    for (; i < path.length - 1; i++) {
      const next = node[path[i]!];
      if (!isObj(next)) break;
      node = next;
    }
    let v = value;
    for (let j = path.length - 1; j > i; j--) v = { [path[j]!]: v };
    ops.push({ method: "POST", path: "/config/" + path.slice(0, i + 1).map(seg).join("/"), body: v, why });
    node[path[i]!] = v;
  };
  const get = (path: string[]): unknown => {
    let node: unknown = root;
    for (const p of path) node = isObj(node) ? node[p] : undefined;
    return node;
  };

  const want = desiredRoutes(entries);
  const wantById = new Map(want.map((r) => [r["@id"], r]));
  // Exact hostnames before wildcards: Caddy takes the first route that matches.
  const ordered = [...want.filter((r) => !isWild(r)), ...want.filter((r) => isWild(r))];

  // TLS first, so a new hostname's policy is in place when its route appears.
  if (s.tls !== "off") {
    const askPath = ["apps", "tls", "automation", "on_demand", "ask"];
    if (get(askPath) !== s.askUrl) setAt(askPath, s.askUrl, "set the on-demand TLS ask endpoint");
  }
  const policy = desiredPolicy(entries, s);
  const policiesPath = ["apps", "tls", "automation", "policies"];
  const policies = get(policiesPath);
  const current = Array.isArray(policies) ? policies.find((p) => isObj(p) && p["@id"] === POLICY_ID) : undefined;
  if (policy && !current) {
    if (Array.isArray(policies) && policies.length > 0) {
      ops.push({ method: "PUT", path: "/config/apps/tls/automation/policies/0", body: policy, why: "add our on-demand TLS policy" });
      policies.unshift(policy);
    } else if (Array.isArray(policies)) {
      ops.push({ method: "POST", path: "/config/apps/tls/automation/policies", body: policy, why: "add our on-demand TLS policy" });
      policies.push(policy);
    } else setAt(policiesPath, [policy], "add our on-demand TLS policy");
  } else if (policy && current && canonical(policy) !== canonical(current)) {
    ops.push({ method: "PATCH", path: `/id/${seg(POLICY_ID)}`, body: policy, why: "update our TLS policy's hostnames" });
  } else if (!policy && current) {
    ops.push({ method: "DELETE", path: `/id/${seg(POLICY_ID)}`, why: "remove our TLS policy (no hostnames)" });
  }

  const serverPath = ["apps", "http", "servers", s.server];
  const server = get(serverPath);
  if (!isObj(server)) {
    const srv: Json = { listen: s.listen, routes: ordered };
    if (s.tls === "off") srv.automatic_https = { disable: true };
    else srv.tls_connection_policies = [{}];
    setAt(serverPath, srv, `create server ${s.server}`);
    return recorded;
  }
  const routesPath = `/config/apps/http/servers/${seg(s.server)}/routes`;
  if (!Array.isArray(server.routes)) {
    if (ordered.length) setAt([...serverPath, "routes"], ordered, "add our routes");
    return recorded;
  }
  const list = server.routes as unknown[];

  // Ours that shouldn't exist, or a wildcard sitting before one of our exact routes: remove.
  const firstExactAfterWild = (() => {
    let seenWild = false;
    for (const r of list) {
      if (!ours(r)) continue;
      if (isWild(r)) seenWild = true;
      else if (seenWild && wantById.has(r["@id"])) return true;
    }
    return false;
  })();
  const seen = new Set<string>();
  for (const r of [...list]) {
    if (!ours(r)) continue;
    const id = r["@id"];
    const misplaced = firstExactAfterWild && isWild(r);
    if (!wantById.has(id) || seen.has(id) || misplaced) {
      ops.push({ method: "DELETE", path: `/id/${seg(id)}`, why: !wantById.has(id) ? `remove ${id}: no longer served` : `remove ${id} to re-add it in order` });
      list.splice(list.indexOf(r), 1);
      continue;
    }
    seen.add(id);
    const w = wantById.get(id)!;
    if (canonical(w) !== canonical(r)) {
      ops.push({ method: "PATCH", path: `/id/${seg(id)}`, body: w, why: `point ${id} at ${dialOf(w)}` });
      list[list.indexOf(r)] = w;
    }
  }
  // Missing ones: exact routes at the very front, wildcards right after our last exact route.
  for (const r of ordered) {
    if (seen.has(r["@id"])) continue;
    let at = 0;
    if (isWild(r)) {
      list.forEach((x, i) => {
        if (ours(x) && !isWild(x)) at = i + 1;
      });
    }
    // PUT at an index inserts there; at the end (an empty list included) only POST, which appends, works.
    if (at === list.length) ops.push({ method: "POST", path: routesPath, body: r, why: `add ${r["@id"]} → ${dialOf(r)}` });
    else ops.push({ method: "PUT", path: `${routesPath}/${at}`, body: r, why: `add ${r["@id"]} → ${dialOf(r)}` });
    list.splice(at, 0, r);
    seen.add(r["@id"]);
  }
  return recorded;
}

function dialOf(r: Json): string {
  const h = (r.handle as { upstreams?: { dial?: string }[] }[] | undefined)?.[0];
  return h?.upstreams?.[0]?.dial ?? "?";
}
