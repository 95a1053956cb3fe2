#!/usr/bin/env python3
"""Verifies captured webhook deliveries with the code receivers are given.

    .ci/verify_webhooks.py CAPTURE_DIR

CAPTURE_DIR holds the JSON files pilot-testkit's WebhookReceiver writes when
PILOT_TEST_CAPTURE_DIR is set: {"secret", "headers" (names lower-cased),
"body_b64", "received_at"}. Each must pass both

  (a) the Deliberations document's verify() (§5, "Python (quick reference)"),
      copied below verbatim, on X-Pilot5-Signature / X-Pilot5-Timestamp; and
  (b) standardwebhooks.Webhook(secret).verify(body, headers), the Standard
      Webhooks reference client (pinned in .ci/requirements.txt).

Both check the timestamp against the wall clock with a 300 s tolerance, so run
this right after the captures are written. Exits 1 naming each file and check
that failed, or when the directory holds no captures (so CI cannot pass
vacuously); 2 on a usage error.
"""

import base64
import json
import pathlib
import sys

from standardwebhooks import Webhook

# ---- The Deliberations document §5, verbatim. --------------------------------
import hmac, hashlib, time

def verify(secret: str, body: bytes, sig_header: str, ts_header: str) -> bool:
    parts = dict(p.split("=", 1) for p in sig_header.split(","))
    if abs(time.time() - int(ts_header)) > 300:
        return False
    expected = hmac.new(
        secret.encode(),
        f"{ts_header}.".encode() + body,
        hashlib.sha256,
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])
# ---- End of the document's code. ---------------------------------------------


def check(path: pathlib.Path) -> list[str]:
    """The failed checks of one capture, empty when both pass."""
    try:
        capture = json.loads(path.read_text())
        secret = capture["secret"]
        headers = capture["headers"]
        body = base64.b64decode(capture["body_b64"], validate=True)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [f"unreadable capture: {type(error).__name__}: {error}"]

    failures = []
    try:
        sig_header = headers["x-pilot5-signature"]
        ts_header = headers["x-pilot5-timestamp"]
        if not verify(secret, body, sig_header, ts_header):
            age = time.time() - int(ts_header)
            failures.append(
                "X-Pilot5-Signature: the document's verify() returned False"
                f" (timestamp {ts_header}, {age:.0f} s old)"
            )
    except Exception as error:  # a missing header or a malformed one
        failures.append(
            f"X-Pilot5-Signature: the document's verify() raised"
            f" {type(error).__name__}: {error}"
        )

    try:
        Webhook(secret).verify(body, headers)
    except Exception as error:
        failures.append(
            f"Standard Webhooks: Webhook(secret).verify() raised"
            f" {type(error).__name__}: {error}"
        )
    return failures


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not pathlib.Path(argv[1]).is_dir():
        print(f"usage: {argv[0]} CAPTURE_DIR (an existing directory)", file=sys.stderr)
        return 2
    directory = pathlib.Path(argv[1])
    captures = sorted(directory.glob("*.json"))
    if not captures:
        print(
            f"FAIL: no captures in {directory}: nothing was verified"
            " (was PILOT_TEST_CAPTURE_DIR set for the test, and did it deliver?)",
            file=sys.stderr,
        )
        return 1

    failed = 0
    for path in captures:
        failures = check(path)
        if failures:
            failed += 1
            for failure in failures:
                print(f"FAIL {path}: {failure}", file=sys.stderr)
    if failed:
        print(
            f"{failed} of {len(captures)} capture(s) in {directory} failed verification",
            file=sys.stderr,
        )
        return 1
    print(
        f"verified {len(captures)} capture(s) in {directory}:"
        " the document's verify() and standardwebhooks both passed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
