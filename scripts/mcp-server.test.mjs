// Unit tests of scripts/mcp-server.mjs's event-stream parser and URL rule, the same
// cases as `pilot mcp`'s (crates/pilot/src/commands/mcp/sse.rs). Run with
// `node --test scripts/`; crates/pilot/tests/it/mcp_bridge.rs runs them too.
import assert from "node:assert/strict";
import { test } from "node:test";

import { SseParser, headerValue, mcpEndpoint, standardHeaders } from "./mcp-server.mjs";

const all = (chunks) => {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.feed(chunk));
};

test("one event per blank line", () => {
  assert.deepEqual(all(['data: {"a":1}\n\ndata: {"b":2}\n\n']), ['{"a":1}', '{"b":2}']);
});

test("events split across chunks at every character", () => {
  const stream = 'event: message\nid: 7\ndata: {"jsonrpc":"2.0"}\n\ndata: x\r\n\r\n';
  for (let split = 0; split <= stream.length; split++) {
    assert.deepEqual(all([stream.slice(0, split), stream.slice(split)]), ['{"jsonrpc":"2.0"}', "x"], `split at ${split}`);
  }
  assert.deepEqual(all([...stream]), ['{"jsonrpc":"2.0"}', "x"]);
});

test("CRLF and CR end lines", () => {
  assert.deepEqual(all(["data: a\r\n\r\ndata: b\r\rdata: c\n\n"]), ["a", "b", "c"]);
  assert.deepEqual(all(["data: a\r", "\ndata: b\r\n", "\r\n"]), ["a\nb"]);
});

test("data lines of one event are joined by LF", () => {
  assert.deepEqual(all(['data: {"a":\ndata:1}\ndata\n\n']), ['{"a":\n1}\n']);
});

test("comments, retry and events without data are skipped", () => {
  assert.deepEqual(all([": keep-alive\n\nretry: 3000\n\nid: 1\ndata:\n\nevent: ping\n\n:x\ndata: y\n\n"]), ["y"]);
  assert.deepEqual(all(["data:\n\n"]), []);
});

test("only one leading space is removed and a BOM is skipped", () => {
  assert.deepEqual(all(["\ufeffdata:  two\n\n"]), [" two"]);
  assert.deepEqual(all(["data:x:y\n\n"]), ["x:y"]);
});

test("the last id and retry are kept", () => {
  const parser = new SseParser();
  assert.deepEqual(parser.feed("id: ev-1\nretry: 250\ndata:\n\n"), []);
  assert.equal(parser.lastEventId, "ev-1");
  assert.equal(parser.retryMs, 250);
  parser.feed("retry: soon\nid: ev-2\ndata: x\n\n");
  assert.equal(parser.lastEventId, "ev-2");
  assert.equal(parser.retryMs, 250);
  parser.feed("id\n\n");
  assert.equal(parser.lastEventId, undefined);
});

test("an event cut off by the end of the stream is dropped", () => {
  assert.deepEqual(all(["data: whole\n\ndata: cut"]), ["whole"]);
});

test("the endpoint is the base URL with one /mcp", () => {
  for (const url of ["http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/mcp/"]) {
    assert.equal(mcpEndpoint(url), "http://127.0.0.1:8080/mcp", url);
  }
  assert.equal(mcpEndpoint("https://pilot.example/base/"), "https://pilot.example/base/mcp");
});

test("standard headers name the method and what it acts on", () => {
  assert.deepEqual(standardHeaders({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "run_pilot" } }), {
    "Mcp-Method": "tools/call",
    "Mcp-Name": "run_pilot",
  });
  assert.deepEqual(standardHeaders({ jsonrpc: "2.0", id: 1, method: "resources/read", params: { uri: "pilot://runs/ünï" } }), {
    "Mcp-Method": "resources/read",
    "Mcp-Name": "=?base64?cGlsb3Q6Ly9ydW5zL8O8bsOv?=",
  });
  assert.deepEqual(standardHeaders({ jsonrpc: "2.0", method: "notifications/initialized" }), {
    "Mcp-Method": "notifications/initialized",
  });
  assert.deepEqual(standardHeaders([{ jsonrpc: "2.0", id: 1, method: "ping" }]), {});
  assert.equal(headerValue(" padded"), "=?base64?IHBhZGRlZA==?=");
  assert.equal(headerValue("=?base64?x?="), "=?base64?PT9iYXNlNjQ/eD89?=");
});
