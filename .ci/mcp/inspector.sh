#!/usr/bin/env bash
# The MCP Inspector CLI (pinned in .ci/mcp/package.json, installed with npm ci) against
# a running Pilot: tools/list and tools/call get_balance over Streamable HTTP at
# URL/mcp, then the same two calls over stdio through each bridge present in the
# tree: `pilot mcp --url URL --key KEY` and `node scripts/mcp-server.mjs` (with
# BIZOPS_API_URL/BIZOPS_API_KEY). Asserts on the Inspector's JSON output.
#
#   .ci/mcp/inspector.sh URL KEY          # KEY: a pk_test_ key with every scope
#   PILOT_BIN=target/release/pilot .ci/mcp/inspector.sh URL KEY
set -euo pipefail
cd "$(dirname "$0")/../.."

url=${1:?usage: inspector.sh URL KEY}
key=${2:?usage: inspector.sh URL KEY}
PILOT=${PILOT_BIN:-target/debug/pilot}
dir=.ci/mcp

log() { printf '\n==> %s\n' "$*"; }

# npm ci when the lock changed since the last install (node_modules remembers it).
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$dir/node_modules/.lock.sha256" 2>/dev/null)" != "$want" ]; then
  log "npm ci in $dir"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  echo "$want" > "$dir/node_modules/.lock.sha256"
fi

# The Inspector keeps a catalog and client config under $HOME; give it a throwaway one.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export HOME="$scratch" NPM_CONFIG_UPDATE_NOTIFIER=false
inspector() {
  (cd "$dir" && npx --no-install @modelcontextprotocol/inspector --cli "$@")
}

# The tools a full-scope key sees, in order (the contract .ci/mcp/client.py checks too).
tools='["list_pilots","get_pilot","create_pilot","update_pilot","run_pilot","get_runs","get_run","retry_run","submit_deliberation","respond_checkpoint","get_deliberation","get_balance","get_pricing","list_deliveries","replay_delivery"]'

# check_list LABEL FILE: tools/list's output has every tool, in order, each with an
# outputSchema.
check_list() {
  node -e '
    const [label, file, want] = process.argv.slice(1);
    const out = JSON.parse(require("fs").readFileSync(file, "utf8"));
    const tools = (out.result || {}).tools;
    const fail = (m) => { console.error(`FAIL ${label} tools/list: ${m}\n${JSON.stringify(out).slice(0, 800)}`); process.exit(1); };
    if (!Array.isArray(tools)) fail("no result.tools");
    const names = tools.map((t) => t.name);
    if (JSON.stringify(names) !== want) fail(`tools ${JSON.stringify(names)}, want ${want}`);
    const bare = tools.filter((t) => !t.outputSchema || typeof t.outputSchema !== "object").map((t) => t.name);
    if (bare.length) fail(`no outputSchema: ${bare.join(", ")}`);
    console.log(`  ok    ${label} tools/list: ${names.length} tools in order, each with an outputSchema`);
  ' "$1" "$2" "$tools"
}

# check_balance LABEL FILE: tools/call get_balance's output is a success whose
# structuredContent is {balance: number, environment: "test", ...} and whose text
# item is the same JSON.
check_balance() {
  node -e '
    const [label, file] = process.argv.slice(1);
    const out = JSON.parse(require("fs").readFileSync(file, "utf8"));
    const r = out.result || {};
    const fail = (m) => { console.error(`FAIL ${label} get_balance: ${m}\n${JSON.stringify(out).slice(0, 800)}`); process.exit(1); };
    if (r.isError !== false && r.isError !== undefined) fail("isError");
    const sc = r.structuredContent;
    if (!sc || typeof sc.balance !== "number") fail("structuredContent.balance is not a number");
    if (sc.environment !== "test") fail(`environment ${JSON.stringify(sc.environment)}, want "test"`);
    const same = (r.content || []).some((c) => {
      if (c.type !== "text") return false;
      try { return JSON.stringify(JSON.parse(c.text)) === JSON.stringify(sc); } catch { return false; }
    });
    if (!same) fail("no text content item with the structuredContent JSON");
    console.log(`  ok    ${label} tools/call get_balance: balance ${sc.balance} (${sc.environment})`);
  ' "$1" "$2"
}

# both LABEL ARGS...: tools/list and tools/call get_balance with these target args.
both() {
  local label=$1
  shift
  local out="$scratch/$label"
  if ! inspector --method tools/list --format json -q "$@" > "$out.list.json"; then
    echo "FAIL $label: the Inspector's tools/list exited non-zero" >&2
    cat "$out.list.json" >&2
    return 1
  fi
  check_list "$label" "$out.list.json"
  if ! inspector --method tools/call --tool-name get_balance --format json -q "$@" > "$out.balance.json"; then
    echo "FAIL $label: the Inspector's tools/call get_balance exited non-zero" >&2
    cat "$out.balance.json" >&2
    return 1
  fi
  check_balance "$label" "$out.balance.json"
}

status=0
log "MCP Inspector $(inspector --version 2>/dev/null | tail -n 1) over Streamable HTTP ($url/mcp)"
both http --transport http --header "Authorization: Bearer $key" -- "$url/mcp" || status=1

# Without a key the Inspector gets the 401 and (having no TTY for OAuth) gives up.
if inspector --method tools/list --format json -q --transport http -- "$url/mcp" > "$scratch/nokey.json" 2>&1; then
  echo "FAIL http without a key: tools/list succeeded" >&2
  status=1
elif grep -qE '"status": ?401|auth_required|Unauthorized' "$scratch/nokey.json"; then
  echo "  ok    http without a key: refused ($(head -c 200 "$scratch/nokey.json"))"
else
  echo "FAIL http without a key: refused, but not as a 401: $(head -c 400 "$scratch/nokey.json")" >&2
  status=1
fi

# The stdio bridges, each once it is in the tree: a bridge that exists must pass.
if "$PILOT" --help 2>/dev/null | grep -qE '^\s+mcp\b'; then
  log "over stdio: $PILOT mcp --url $url --key …"
  both pilot-mcp --transport stdio -- "$(realpath "$PILOT")" mcp --url "$url" --key "$key" || status=1
else
  echo "  SKIP  pilot mcp: not a subcommand of $PILOT (yet)"
fi
if [ -f scripts/mcp-server.mjs ]; then
  log "over stdio: node scripts/mcp-server.mjs (BIZOPS_API_URL=$url)"
  both mcp-server-mjs --transport stdio -e "BIZOPS_API_URL=$url" -e "BIZOPS_API_KEY=$key" \
    -- node "$(realpath scripts/mcp-server.mjs)" || status=1
else
  echo "  SKIP  scripts/mcp-server.mjs: not in the tree (yet)"
fi

[ "$status" -eq 0 ] || echo "MCP Inspector checks FAILED" >&2
exit "$status"
