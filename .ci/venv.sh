#!/usr/bin/env bash
# Creates .ci/venv, or brings it up to date, with the pins of .ci/requirements.txt:
# schemathesis for .ci/schemathesis.sh, standardwebhooks for .ci/verify_webhooks.py,
# mcp for .ci/mcp/client.py.
# Cheap when nothing changed: the venv remembers the requirements it was built from.
#
#   .ci/venv.sh && .ci/venv/bin/python .ci/verify_webhooks.py DIR
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.ci/venv
REQUIREMENTS=.ci/requirements.txt
STAMP="$VENV/.requirements.sha256"

want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
printf '\n==> installing %s into %s\n' "$REQUIREMENTS" "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
echo "$want" > "$STAMP"
