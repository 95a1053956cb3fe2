#!/usr/bin/env bash
# Pilot's MCP server (POST /mcp) against real clients, on a real `pilot serve`: the
# MCP Python SDK (.ci/mcp/client.py) and the MCP Inspector CLI (.ci/mcp/inspector.sh,
# over HTTP and over the stdio bridges present in the tree).
#
#   .ci/mcp.sh                          # builds target/debug/pilot if it is missing
#   PILOT_BIN=target/release/pilot .ci/mcp.sh
#
# The server gets a throwaway SQLite data directory and a free port, and is stopped
# on exit. Keys: the test key its first start prints (every scope), a test key of the
# same workspace without pilots:write, one without deliberations:write, and another
# workspace's test key.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/venv

.ci/venv.sh
. .ci/serve.sh

start_pilot
for _ in $(seq 1 100); do
  curl -sf "$url/healthz" > /dev/null && break
  sleep 0.1
done
curl -sf "$url/healthz" > /dev/null || { echo "pilot serve at $url is not healthy" >&2; exit 1; }
# The first start's keys are printed after the listening line; wait for the test key.
key=""
for _ in $(seq 1 50); do
  key=$(awk '/test key:/ {print $3}' "$data/serve.out")
  [ -n "$key" ] && break
  sleep 0.1
done
[ -n "$key" ] || { echo "no test key in pilot serve's first-start output" >&2; cat "$data/serve.out" >&2; exit 1; }
log "pilot serve at $url"

# While it serves (SQLite in WAL takes the CLI's writes beside the server's).
"$PILOT" keys create --env test --workspace default --name "mcp without pilots:write" \
  --scopes "pilots:read deliberations:read deliberations:write" > "$data/ro.txt"
read_only_key=$(awk '/^ *key:/ {print $2}' "$data/ro.txt")
"$PILOT" keys create --env test --workspace default --name "mcp without deliberations:write" \
  --scopes "pilots:read pilots:write deliberations:read" > "$data/nd.txt"
no_delib_key=$(awk '/^ *key:/ {print $2}' "$data/nd.txt")
"$PILOT" workspaces create mcp-other > "$data/other.txt"
other_key=$(awk '/test key:/ {print $3}' "$data/other.txt")
[ -n "$read_only_key" ] && [ -n "$no_delib_key" ] && [ -n "$other_key" ] || {
  echo "could not create the extra keys" >&2
  cat "$data/ro.txt" "$data/nd.txt" "$data/other.txt" >&2
  exit 1
}

status=0
log "MCP Python SDK (.ci/mcp/client.py)"
"$VENV/bin/python" .ci/mcp/client.py --url "$url" --key "$key" \
  --read-only-key "$read_only_key" --no-deliberations-write-key "$no_delib_key" \
  --other-key "$other_key" || status=1
log "MCP Inspector (.ci/mcp/inspector.sh)"
PILOT_BIN="$PILOT" .ci/mcp/inspector.sh "$url" "$key" || status=1
if [ "$status" -ne 0 ]; then
  echo "--- pilot serve stderr (last 50 lines)" >&2
  tail -n 50 "$data/serve.err" >&2
fi
exit "$status"
