#!/usr/bin/env bash
# Schemathesis against a real `pilot serve`, over the whole OpenAPI document it
# publishes, with every check on: once with a test key (credits granted, so valid
# submissions are accepted) and once with a live key that has no credits.
#
#   .ci/schemathesis                 # builds target/debug/pilot if it is missing
#   PILOT_BIN=target/release/pilot .ci/schemathesis
#   ST_MAX_EXAMPLES=50 .ci/schemathesis   # more examples per operation
#
# Installs schemathesis (pinned in .ci/requirements.txt) into .ci/venv with
# .ci/venv.sh; the server gets a throwaway SQLite data directory and a free port, and
# is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/venv
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-20}

.ci/venv.sh
. .ci/serve.sh
# Keys for a workspace of its own: the live one has no credits; the test one gets
# enough that no valid submission is refused for want of them.
"$PILOT" workspaces create schemathesis > "$data/keys.txt"
live_key=$(awk '/live key:/ {print $3}' "$data/keys.txt")
test_key=$(awk '/test key:/ {print $3}' "$data/keys.txt")
"$PILOT" credits grant --env test --workspace schemathesis 1000000 > /dev/null

start_pilot
log "pilot serve at $url"

run() {
  local name=$1 key=$2 config=$3
  log "schemathesis ($name key, $MAX_EXAMPLES examples per operation)"
  "$VENV/bin/st" --config-file "$config" run "$url/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $key" \
    --max-examples "$MAX_EXAMPLES" \
    --workers 1 \
    --seed "${ST_SEED:-1}" \
    --request-timeout 30 \
    --no-color
}

status=0
run test "$test_key" .ci/schemathesis/test.toml || status=1
run live "$live_key" .ci/schemathesis/live.toml || status=1
if [ "$status" -ne 0 ]; then
  echo "--- pilot serve stderr (last 50 lines)" >&2
  tail -n 50 "$data/serve.err" >&2
fi
exit "$status"
