#!/usr/bin/env bash
# One command for a fresh Debian/Ubuntu machine with Node and npm: install what
# is missing, build, and run the control plane (embedded PostgreSQL) with a
# worker agent on this machine. Ctrl-C stops both; containers keep running.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in podman runc git; do command -v "$p" >/dev/null || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} from the system's packages…"
  $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || true
fi
if ! command -v podman >/dev/null; then
  echo "podman is missing and could not be installed: install it (apt-get install podman runc) and run this again." >&2
  exit 1
fi
command -v bun >/dev/null || $SUDO npm install -g bun@1 >/dev/null
bun install --frozen-lockfile >/dev/null
bun run build >/dev/null

DATA="${WH_DATA_DIR:-$PWD/wisehosting-data}"
mkdir -p "$DATA" && chmod 700 "$DATA"
export WH_DATA_DIR="$DATA"
# Hosts where crun can't run (cgroups v1/hybrid) need runc and lower ulimits;
# this dev set-up passes the same containers.conf the tests use.
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/test/containers.conf}"

./dist/wisehosting serve > "$DATA/control-plane.log" 2>&1 &
CP=$!
trap 'kill $CP ${AG:-} 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 120); do grep -q "ready in" "$DATA/control-plane.log" && break; kill -0 $CP 2>/dev/null || { cat "$DATA/control-plane.log"; exit 1; }; sleep 0.5; done
cat "$DATA/control-plane.log"
LISTEN="${WH_LISTEN:-127.0.0.1:8080}"
INGRESS="${WH_INGRESS_LISTEN:-127.0.0.1:8000}"

WH_HUB_URL="http://$LISTEN" WH_WORKER_SECRET="$(cat "$DATA/worker.secret")" WH_WORKER_STATE_DIR="$DATA/agent" \
  ./dist/wisehosting-agent > "$DATA/agent.log" 2>&1 &
AG=$!

if [ ! -f "$DATA/admin.txt" ]; then
  ./dist/wisehosting admin create --email "${WH_ADMIN_EMAIL:-admin@localhost.localdomain}" > "$DATA/admin.txt"
  ./dist/wisehosting token create --email "${WH_ADMIN_EMAIL:-admin@localhost.localdomain}" --name cli >> "$DATA/admin.txt"
  chmod 600 "$DATA/admin.txt"
fi
TOKEN="$(tail -n1 "$DATA/admin.txt")"
cat <<MSG

WiseHosting is running.
  dashboard + API  http://$LISTEN        (sign in with the token below)
  apps             http://<project>.localhost:${INGRESS##*:}
  admin account    $(head -n2 "$DATA/admin.txt" | tr '\n' ' ')
  API token        $TOKEN          (kept in $DATA/admin.txt, mode 0600)
  logs             $DATA/control-plane.log, $DATA/agent.log

Try:  curl -H "Authorization: Bearer $TOKEN" http://$LISTEN/v1/workers
Ctrl-C stops the control plane and the agent (containers keep running).
MSG
wait $CP
