# Sourced by the CI scripts that drive a real `pilot serve` (.ci/schemathesis.sh,
# .ci/mcp.sh): the binary (built if missing), a throwaway SQLite data directory
# removed on exit with the server, and `start_pilot`, which serves on a free port
# and sets `url` once the server says where it listens.

PILOT=${PILOT_BIN:-target/debug/pilot}

log() { printf '\n==> %s\n' "$*"; }

if [ ! -x "$PILOT" ]; then
  log "building $PILOT"
  cargo build --locked -p pilot
fi

data=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

export PILOT_DATA_DIR="$data"
export RUST_LOG=${RUST_LOG:-warn}

start_pilot() {
  "$PILOT" serve --bind 127.0.0.1:0 > "$data/serve.out" 2> "$data/serve.err" &
  server=$!
  url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^Pilot .* listening on \(http[^ ]*\).*/\1/p' "$data/serve.out" | head -n 1)
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$data/serve.err" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "pilot serve did not start" >&2; cat "$data/serve.err" >&2; exit 1; }
}
