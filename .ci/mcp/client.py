#!/usr/bin/env python3
"""Pilot's MCP server (POST /mcp) through the MCP Python SDK, as an agent would use it.

    .ci/venv/bin/python .ci/mcp/client.py --url http://127.0.0.1:PORT \
        --key pk_test_… --read-only-key pk_test_… --other-key pk_test_…

--key has every scope (test mode: the scripted model answers); --read-only-key lacks
pilots:write, --no-deliberations-write-key (optional) deliberations:write;
--other-key belongs to another workspace. Checks, each reported by name:
the tool list and its order, every tool's schemas, one pilot created, run and listed,
a deliberation completed and one blocked, a deliberation2 steered through its
checkpoints by elicitation (2025-11-25), by input required (2026-07-28) and by
respond_checkpoint, every successful result's
structuredContent against the tool's outputSchema and as the text item, scopes
hiding the write tools, another workspace's run not found, two protocol
negotiations, and the HTTP answers to no key, a bad key and a foreign Origin.
Exits 1 naming every failed check (MCP_CLIENT_TRACEBACKS=1 adds the traceback of a
session that broke off).

Written against mcp 2.3.0 (pinned in .ci/requirements.txt): `mcp.Client` over
`mcp.client.streamable_http.streamable_http_client` with an httpx2 client carrying
the Authorization header.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import traceback
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import jsonschema
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

# The contract: these tools, in this order, for a key with every scope.
ALL_TOOLS = [
    "list_pilots",
    "get_pilot",
    "create_pilot",
    "update_pilot",
    "run_pilot",
    "get_runs",
    "get_run",
    "retry_run",
    "submit_deliberation",
    "respond_checkpoint",
    "get_deliberation",
    "get_balance",
    "get_pricing",
    "list_deliveries",
    "replay_delivery",
]
# Each tool's arguments, as the contract names them ("?": optional). The inputSchema
# must have each as a property and require none of the optional ones.
CONTRACT_ARGS = {
    "list_pilots": [],
    "get_pilot": ["id"],
    "create_pilot": ["title", "description", "triggerType", "steps?"],
    "update_pilot": ["id", "title?", "description?", "status?", "steps?"],
    "run_pilot": ["id", "payload?", "wait_seconds?"],
    "get_runs": ["id", "limit?", "before?"],
    "get_run": ["id"],
    "retry_run": ["id", "from?"],
    "submit_deliberation": [
        "question",
        "mode?",
        "use_case?",
        "difficulty?",
        "webhook_url?",
        "metadata?",
        "idempotency_key?",
        "wait_seconds?",
    ],
    "respond_checkpoint": ["id", "checkpoint_id", "answer?", "form?", "wait_seconds?"],
    "get_deliberation": ["id", "include_panel?"],
    "get_balance": [],
    "get_pricing": [],
    "list_deliveries": ["status?", "endpoint?", "before?", "limit?"],
    "replay_delivery": ["id"],
}
PILOTS_WRITE_TOOLS = {"create_pilot", "update_pilot", "run_pilot", "retry_run"}
DELIBERATIONS_WRITE_TOOLS = {"submit_deliberation", "respond_checkpoint", "replay_delivery"}
RUN_TERMINAL = {"success", "failed", "filtered", "cancelled", "canceled"}
# The SDK's default offer on the initialize handshake (mode="legacy").
HANDSHAKE_VERSION = "2025-11-25"
# MCP_CLIENT_TRACEBACKS=1 prints the traceback of a session that broke off.
TRACEBACKS = os.environ.get("MCP_CLIENT_TRACEBACKS") == "1"


class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.passed = 0

    def ok(self, cond: bool, name: str, detail: Any = None) -> bool:
        if cond:
            self.passed += 1
            print(f"  ok    {name}")
        else:
            msg = name if detail is None else f"{name}: {detail}"
            self.failures.append(msg)
            print(f"  FAIL  {msg}")
        return cond


checks = Checks()


def leaf(e: BaseException) -> str:
    """The first innermost exception of an exception group (anyio's task groups wrap them)."""
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    return f"{type(e).__name__}: {e}"


def schema_error(e: jsonschema.ValidationError) -> str:
    if e.validator == "oneOf" and "is valid under each of" in e.message:
        return "valid under more than one oneOf branch (oneOf needs exactly one)"
    return short(e.message, 300)


def short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


@asynccontextmanager
async def connect(url: str, key: str, mode: str = "auto", elicitation_callback: Any = None):
    """A connected mcp.Client on {url}/mcp with the key as a Bearer token."""
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http:
        transport = streamable_http_client(f"{url}/mcp", http_client=http)
        async with Client(
            transport, mode=mode, read_timeout_seconds=90, elicitation_callback=elicitation_callback
        ) as client:
            yield client


async def _no_sdk_validation(name: str, result: Any) -> None:
    return None


class Session:
    """One connected client, with the tools it listed, checking each call's result."""

    def __init__(self, client: Client, label: str) -> None:
        self.client = client
        self.label = label
        self.tools: dict[str, Any] = {}
        # The SDK checks structuredContent against the outputSchema itself and raises,
        # which would lose the result and end the walk; success() runs the same check
        # (jsonschema, the schema's own draft) and records it as a named failure instead.
        client.session.validate_tool_result = _no_sdk_validation  # type: ignore[method-assign]

    async def list_tools(self) -> list[Any]:
        tools: list[Any] = []
        cursor = None
        while True:
            page = await self.client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        self.tools = {t.name: t for t in tools}
        return tools

    async def call(self, name: str, args: dict[str, Any]) -> Any:
        """Calls a tool; returns the result (None if the call raised, recorded as a failure)."""
        try:
            return await self.client.call_tool(name, args)
        except Exception as e:  # the SDK raises on a result that breaks the outputSchema, too
            checks.ok(False, f"[{self.label}] {name} {short(args, 200)} answered", leaf(e))
            return None

    async def success(self, name: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """Calls a tool that must succeed; checks structuredContent against the outputSchema
        and the text item against structuredContent. Returns structuredContent."""
        result = await self.call(name, args)
        if result is None:
            return None
        if not checks.ok(
            not result.is_error,
            f"[{self.label}] {name} succeeds",
            f"sent {short(args, 200)}, got isError with {short(error_text(result))}",
        ):
            return None
        sc = result.structured_content
        checks.ok(isinstance(sc, dict), f"[{self.label}] {name} has structuredContent (an object)", short(sc))
        schema = self.tools[name].output_schema if name in self.tools else None
        if schema is not None and sc is not None:
            validator_cls = jsonschema.validators.validator_for(schema)
            errors = sorted(validator_cls(schema).iter_errors(sc), key=lambda e: list(e.absolute_path))
            checks.ok(
                not errors,
                f"[{self.label}] {name} structuredContent validates against its outputSchema",
                "; ".join(
                    f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {schema_error(e)}"
                    + (f" (schema at {'/'.join(map(str, e.absolute_schema_path))})" if e.absolute_schema_path else "")
                    for e in errors[:5]
                ),
            )
        texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
        parsed = []
        for t in texts:
            try:
                parsed.append(json.loads(t))
            except ValueError:
                pass
        checks.ok(
            sc in parsed,
            f"[{self.label}] {name} has the same JSON as a text content item",
            f"text items: {short(texts)}",
        )
        return sc if isinstance(sc, dict) else None

    async def error(self, name: str, args: dict[str, Any], code: str) -> None:
        """Calls a tool that must answer a result with isError whose text starts with code."""
        result = await self.call(name, args)
        if result is None:
            return
        text = error_text(result)
        checks.ok(
            result.is_error and text.startswith(f"{code}"),
            f"[{self.label}] {name} {short(args, 120)} is isError starting {code!r}",
            f"isError={result.is_error}, text={short(text)}, structuredContent={short(result.structured_content)}",
        )


def error_text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", None) == "text")


def find(sc: dict[str, Any] | None, *paths: str) -> Any:
    """The first of the dotted paths present in sc (e.g. "run.id", "id")."""
    for path in paths:
        value: Any = sc
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                value = None
                break
            value = value[part]
        if value is not None:
            return value
    return None


def check_tool_schemas(tools: list[Any]) -> None:
    for tool in tools:
        out = tool.output_schema
        checks.ok(isinstance(out, dict), f"{tool.name} has an outputSchema", short(out))
        inp = tool.input_schema
        checks.ok(
            isinstance(inp, dict) and inp.get("type") == "object",
            f"{tool.name} inputSchema is an object schema",
            short(inp),
        )
        if tool.name in CONTRACT_ARGS and isinstance(inp, dict):
            props = set((inp.get("properties") or {}).keys())
            required = set(inp.get("required") or [])
            args = CONTRACT_ARGS[tool.name]
            missing = [a.rstrip("?") for a in args if a.rstrip("?") not in props]
            checks.ok(
                not missing,
                f"{tool.name} inputSchema has the contract's arguments",
                f"missing {missing}; has {sorted(props)}",
            )
            optional = {a.rstrip("?") for a in args if a.endswith("?")}
            checks.ok(
                not (optional & required),
                f"{tool.name} inputSchema requires none of the contract's optional arguments",
                f"requires {sorted(optional & required)}",
            )
        bad = [k for k in ("oneOf", "anyOf") if isinstance(inp, dict) and k in inp]
        checks.ok(not bad, f"{tool.name} inputSchema has no top-level oneOf/anyOf", f"has {bad}")
        for label, schema in (("inputSchema", inp), ("outputSchema", out)):
            if isinstance(schema, dict):
                try:
                    jsonschema.validators.validator_for(schema).check_schema(schema)
                    checks.ok(True, f"{tool.name} {label} is a valid JSON Schema")
                except jsonschema.SchemaError as e:
                    checks.ok(False, f"{tool.name} {label} is a valid JSON Schema", e.message)


async def full_scope(url: str, key: str) -> Any:
    """The main walk with the full-scope test key; returns the run id for the isolation check."""
    print(f"\n== session with the full-scope key (client default negotiation)")
    async with connect(url, key) as client:
        print(f"  negotiated protocol version {client.protocol_version}")
        checks.ok(bool(client.protocol_version), "default negotiation settles on a version")
        s = Session(client, "full")
        tools = await s.list_tools()
        names = [t.name for t in tools]
        checks.ok(names == ALL_TOOLS, "tools/list: all 15 tools in the contract's order", f"got {names}")
        check_tool_schemas(tools)

        await s.success("list_pilots", {})
        pilot = await s.success(
            "create_pilot",
            {
                "title": "Summarize new orders",
                "description": "When an order comes in, summarize it with AI and post to Slack.",
                "triggerType": "webhook",
            },
        )
        pilot_id = find(pilot, "id", "pilot.id")
        checks.ok(pilot_id is not None, "create_pilot returns the pilot's id", short(pilot))
        run_id = None
        if pilot_id is not None:
            got = await s.success("get_pilot", {"id": pilot_id})
            checks.ok(
                find(got, "title", "pilot.title") == "Summarize new orders",
                "get_pilot returns the pilot created",
                short(got),
            )
            run = await s.success(
                "run_pilot", {"id": pilot_id, "payload": {"orderId": "1234", "total": 49.0}, "wait_seconds": 30}
            )
            run_id = find(run, "run.id", "runId", "run_id", "id")
            status = find(run, "run.status", "status")
            checks.ok(run_id is not None, "run_pilot returns the run's id", short(run))
            checks.ok(
                status in RUN_TERMINAL,
                "run_pilot with wait_seconds returns a terminal state",
                f"status {status!r} in {short(run)}",
            )
            runs = await s.success("get_runs", {"id": pilot_id})
            listed = [r.get("id") for r in (find(runs, "runs") or []) if isinstance(r, dict)]
            checks.ok(run_id is not None and run_id in listed, "get_runs lists the run", f"run {run_id!r}, listed {listed}")
            if run_id is not None:
                one = await s.success("get_run", {"id": run_id})
                checks.ok(find(one, "id", "run.id") == run_id, "get_run returns the run", short(one))
            paused = await s.success("update_pilot", {"id": pilot_id, "status": "paused"})
            checks.ok(find(paused, "status", "pilot.status") == "paused", "update_pilot pauses it", short(paused))
        await s.error("get_pilot", {"id": 987654321}, "not_found")

        delib = await s.success(
            "submit_deliberation",
            {"question": "Should we price our SaaS per-seat or usage-based for mid-market?", "wait_seconds": 30},
        )
        checks.ok(
            find(delib, "status", "deliberation.status") == "completed",
            "submit_deliberation with wait_seconds 30 is completed",
            short(delib),
        )
        delib_id = find(delib, "id", "deliberation_id", "deliberation.id")
        if delib_id is not None:
            got = await s.success("get_deliberation", {"id": delib_id})
            checks.ok(find(got, "status") == "completed", "get_deliberation: completed", short(got))
        await s.error(
            "submit_deliberation",
            {"question": "Should we ship it? [[scripted:block]]", "wait_seconds": 5},
            "content_blocked",
        )
        await s.success("get_balance", {})
        pricing = await s.success("get_pricing", {})
        checks.ok(
            {(e["mode"], e["difficulty"]) for e in find(pricing, "estimates") or []}
            >= {("deliberation1", "MEDIUM"), ("smartroute1", "EASY")},
            "get_pricing: the estimate table",
            short(pricing),
        )
        await s.success("list_deliveries", {})
        return run_id


QUESTION_2 = "Should we open a second warehouse before the holiday season?"


class Person:
    """Answers deliberation2 checkpoints as the elicitation forms arrive, the way a person
    at the client would: at `answers` drops the first persona, adds the first addable one and
    sets a constraint; at `reviews` revises the first position only; at the first draft sends
    it back with a note, at the second approves it. Keeps every form it saw."""

    def __init__(self) -> None:
        self.forms: list[dict[str, Any]] = []
        self.drafts = 0

    async def __call__(self, context: Any, params: Any) -> Any:
        from mcp_types import ElicitResult

        schema = getattr(params, "requested_schema", None) or {}
        props = schema.get("properties") or {}
        self.forms.append(props)
        keep = sorted(k for k in props if k.startswith("keep_"))
        add = sorted(k for k in props if k.startswith("add_"))
        revise = sorted(k for k in props if k.startswith("revise_"))
        if keep:
            content: dict[str, Any] = {keep[0]: False, "constraint": "Keep the budget flat."}
            if add:
                content[add[0]] = True
        elif revise:
            content = {name: name == revise[0] for name in revise}
        elif "decision" in props:
            self.drafts += 1
            if self.drafts == 1 and "send_back" in (props["decision"].get("enum") or []):
                content = {"decision": "send_back", "note": "Say what it costs."}
            else:
                content = {"decision": "approve"}
        else:
            return ElicitResult(action="decline")
        return ElicitResult(action="accept", content=content)


async def deliberation2_elicited(url: str, key: str) -> None:
    """deliberation2 with a client that declares elicitation: one submit_deliberation call,
    its checkpoints answered by the Person as the server asks, to the end."""
    print("\n== deliberation2, checkpoints answered through elicitation")
    person = Person()
    async with connect(url, key, mode="legacy", elicitation_callback=person) as client:
        s = Session(client, "deliberation2-elicited")
        await s.list_tools()
        done = await s.success(
            "submit_deliberation", {"question": QUESTION_2, "mode": "deliberation2", "wait_seconds": 50}
        )
        kinds = [
            "answers" if any(k.startswith("keep_") for k in f)
            else "reviews" if any(k.startswith("revise_") for k in f)
            else "synthesis"
            for f in person.forms
        ]
        checks.ok(
            kinds == ["answers", "reviews", "synthesis", "synthesis"],
            "elicitation asked at each checkpoint, the draft twice (sent back once)",
            f"forms: {kinds}",
        )
        checks.ok(
            len(person.forms) > 0 and sum(k.startswith("keep_") for k in person.forms[0]) == 7,
            "the first form lists the seven personas",
            short(person.forms[:1]),
        )
        checks.ok(find(done, "status") == "completed", "deliberation2 completes after the last answer", short(done))
        checks.ok(
            (find(done, "credits_charged") or 0) > 0, "deliberation2 charges test credits", short(done)
        )
        delib_id = find(done, "id")
        if delib_id is not None:
            full = await s.success("get_deliberation", {"id": delib_id, "include_panel": True})
            stages = [e.get("stage") for e in (find(full, "panel") or [])]
            checks.ok(
                stages.count("checkpoint") == 4 and stages.count("synthesis") == 2,
                "the panel records the four answers and both drafts",
                f"stages: {stages}",
            )


async def deliberation2_input_required(url: str, key: str) -> None:
    """deliberation2 with a client on the default negotiation (2026-07-28, where a server
    sends no requests mid-call) that declares elicitation: each checkpoint comes back as
    input required, which the SDK's call_tool fulfils through the same callback and
    retries, until the deliberation completes."""
    print("\n== deliberation2, checkpoints answered through input required (default negotiation)")
    person = Person()
    async with connect(url, key, elicitation_callback=person) as client:
        print(f"  negotiated protocol version {client.protocol_version}")
        s = Session(client, "deliberation2-input-required")
        await s.list_tools()
        done = await s.success(
            "submit_deliberation", {"question": QUESTION_2, "mode": "deliberation2", "wait_seconds": 50}
        )
        checks.ok(
            len(person.forms) == 4,
            "input required asked at each checkpoint, the draft twice",
            f"{len(person.forms)} forms",
        )
        checks.ok(find(done, "status") == "completed", "deliberation2 completes through input required", short(done))


async def deliberation2_by_tool(url: str, key: str) -> None:
    """deliberation2 with a client without elicitation: each checkpoint comes back as the
    tool result, answered with respond_checkpoint."""
    print("\n== deliberation2, checkpoints answered with respond_checkpoint")
    async with connect(url, key, mode="legacy") as client:
        s = Session(client, "deliberation2-tool")
        await s.list_tools()
        got = await s.success(
            "submit_deliberation", {"question": QUESTION_2, "mode": "deliberation2", "wait_seconds": 50}
        )
        answers = [{"drop": []}, {"revise": []}, {"decision": "approve"}]
        for kind, answer in zip(["answers", "reviews", "synthesis"], answers):
            checkpoint = find(got, "checkpoint") or {}
            if not checks.ok(
                checkpoint.get("kind") == kind, f"the result carries the {kind} checkpoint", short(got)
            ):
                return
            form = checkpoint.get("form")
            checks.ok(
                isinstance(form, dict) and form.get("type") == "object",
                f"the {kind} checkpoint has its form",
                short(form),
            )
            got = await s.success(
                "respond_checkpoint",
                {"id": find(got, "id"), "checkpoint_id": checkpoint.get("id"), "answer": answer, "wait_seconds": 50},
            )
        checks.ok(find(got, "status") == "completed", "deliberation2 completes after respond_checkpoint", short(got))
        await s.error(
            "respond_checkpoint",
            {"id": find(got, "id"), "checkpoint_id": "chk_none", "answer": {}},
            "conflict",
        )


async def read_only(url: str, key: str) -> None:
    print("\n== session with a key without pilots:write")
    async with connect(url, key) as client:
        s = Session(client, "no-pilots-write")
        names = [t.name for t in await s.list_tools()]
        hidden = sorted(PILOTS_WRITE_TOOLS & set(names))
        checks.ok(not hidden, "no Pilots write tools listed", f"listed {hidden}")
        want = [n for n in ALL_TOOLS if n not in PILOTS_WRITE_TOOLS]
        checks.ok(names == want, "the rest listed, in order", f"got {names}, want {want}")
        if "list_pilots" in names:
            await s.success("list_pilots", {})


async def no_deliberations_write(url: str, key: str) -> None:
    print("\n== session with a key without deliberations:write")
    async with connect(url, key) as client:
        s = Session(client, "no-deliberations-write")
        names = [t.name for t in await s.list_tools()]
        shown = sorted(DELIBERATIONS_WRITE_TOOLS & set(names))
        checks.ok(not shown, "no submit_deliberation/replay_delivery listed", f"listed {shown}")
        want = [n for n in ALL_TOOLS if n not in DELIBERATIONS_WRITE_TOOLS]
        checks.ok(names == want, "the rest listed, in order", f"got {names}, want {want}")


async def other_workspace(url: str, key: str, run_id: Any) -> None:
    print("\n== session with another workspace's key")
    async with connect(url, key) as client:
        s = Session(client, "other-workspace")
        await s.list_tools()
        if run_id is None:
            checks.ok(False, "another workspace's get_run: no run id from the first workspace to try")
            return
        await s.error("get_run", {"id": run_id}, "not_found")


async def negotiation(url: str, key: str) -> None:
    print(f"\n== session initialised with {HANDSHAKE_VERSION} (mode='legacy': the initialize handshake)")
    async with connect(url, key, mode="legacy") as client:
        checks.ok(
            client.protocol_version == HANDSHAKE_VERSION,
            f"initialize offering {HANDSHAKE_VERSION} settles on it",
            f"got {client.protocol_version}",
        )
        s = Session(client, HANDSHAKE_VERSION)
        names = [t.name for t in await s.list_tools()]
        checks.ok(names == ALL_TOOLS, f"tools/list at {HANDSHAKE_VERSION}", f"got {names}")
        await s.success("get_balance", {})


async def http_edges(url: str, key: str) -> None:
    """What the HTTP layer answers before any MCP: no key, a bad key, a foreign Origin."""
    print("\n== HTTP: keys and Origin")
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "pilot-ci", "version": "0"},
        },
    }
    base = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

    async def post(headers: dict[str, str]) -> httpx2.Response:
        # A connection each: the server may close a kept-alive connection after
        # refusing a POST whose body it did not read, without `Connection: close`,
        # and a pooled client's next request then finds it closed (REST alike).
        async with httpx2.AsyncClient(timeout=30) as http:
            return await http.post(f"{url}/mcp", json=init, headers={**base, **headers})

    cases = [
        ("no key", {}, 401),
        ("a malformed key", {"Authorization": "Bearer pk_test_nope"}, 401),
        ("an unknown key", {"Authorization": "Bearer pk_test_" + "A" * 40}, 401),
        ("a foreign Origin", {"Authorization": f"Bearer {key}", "Origin": "https://evil.example"}, 403),
    ]
    for label, headers, want in cases:
        r = await post(headers)
        checks.ok(r.status_code == want, f"POST /mcp with {label} is {want}", f"got {r.status_code}: {short(r.text, 200)}")
        if want == 401:
            www = r.headers.get("www-authenticate", "")
            checks.ok(
                www.lower().startswith("bearer"),
                f"POST /mcp with {label} has WWW-Authenticate: Bearer",
                f"got {www!r}",
            )
    r = await post({"Authorization": f"Bearer {key}", "Origin": url})
    checks.ok(r.status_code == 200, "POST /mcp with the server's own Origin is 200", f"got {r.status_code}: {short(r.text, 200)}")


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="the server's base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--key", required=True, help="a pk_test_ key with every scope")
    p.add_argument("--read-only-key", required=True, help="a key of the same workspace without pilots:write")
    p.add_argument(
        "--no-deliberations-write-key", help="a key of the same workspace without deliberations:write (optional)"
    )
    p.add_argument("--other-key", required=True, help="a pk_test_ key of another workspace")
    a = p.parse_args()
    url = a.url.rstrip("/")

    steps = [
        ("deliberation2 elicited", lambda: deliberation2_elicited(url, a.key)),
        ("deliberation2 by tool", lambda: deliberation2_by_tool(url, a.key)),
        ("deliberation2 input required", lambda: deliberation2_input_required(url, a.key)),
        ("HTTP edges", lambda: http_edges(url, a.key)),
        ("negotiation", lambda: negotiation(url, a.key)),
        ("read-only", lambda: read_only(url, a.read_only_key)),
    ]
    if a.no_deliberations_write_key:
        steps.append(("no-deliberations-write", lambda: no_deliberations_write(url, a.no_deliberations_write_key)))
    run_id = None
    try:
        run_id = await full_scope(url, a.key)
    except Exception as e:
        if TRACEBACKS:
            traceback.print_exc()
        checks.ok(False, "the full-scope session ran to the end", leaf(e))
    steps.append(("other workspace", lambda: other_workspace(url, a.other_key, run_id)))
    for label, step in steps:
        try:
            await step()
        except Exception as e:
            if TRACEBACKS:
                traceback.print_exc()
            checks.ok(False, f"the {label} session ran to the end", leaf(e))

    print(f"\n{checks.passed} checks passed, {len(checks.failures)} failed")
    if checks.failures:
        print("MCP client checks FAILED:", file=sys.stderr)
        for f in checks.failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
