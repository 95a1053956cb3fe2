#!/usr/bin/env node
// Pilot's MCP bridge for AI agents (Claude Desktop and the like), in one file with no
// dependencies: Node 20+ built-ins only (fetch, readline). It is a stdio MCP server
// that is only a transport adapter, the same bridge as `pilot mcp`: each JSON-RPC
// message read from stdin (one per line) is POSTed to a Pilot server's `/mcp`
// (Streamable HTTP), and what the server answers — one JSON message, an event stream
// of them, or 202 Accepted — is written to stdout, one message per line. It defines no
// tools of its own: the server's list is the only one. Logs go to stderr.
//
//   BIZOPS_API_URL=https://pilot.example BIZOPS_API_KEY=pk_live_… node scripts/mcp-server.mjs
//
// Settings, first found wins: --url/--key, PILOT_API_URL/PILOT_API_KEY,
// BIZOPS_API_URL/BIZOPS_API_KEY; the URL defaults to http://127.0.0.1:8080 and may end
// in `/mcp` or not. Without a key it exits with status 2.

import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const DEFAULT_URL = "http://127.0.0.1:8080";
const BRIDGE_ERROR = -32000;
const CLOSING_GRACE_MS = 10_000;
// Clients signal a bridge that does not exit a few seconds after stdin's end, then kill it.
const DELETE_TIMEOUT_MS = 1_500;
const ERROR_TEXT_LIMIT = 500;
const MAX_FRUITLESS_RESUMES = 3;
const MAX_RETRY_MS = 30_000;

const log = (...parts) => console.error("mcp-server:", ...parts);

function setting(flag, ...names) {
  for (const value of [flag, ...names.map((name) => process.env[name])]) {
    if (typeof value === "string" && value.trim() !== "") return value.trim();
  }
  return undefined;
}

/** The MCP endpoint of a base URL: `…/mcp`, named already or not, slash or not. */
export function mcpEndpoint(url) {
  const base = url.trim().replace(/\/+$/, "");
  return base.endsWith("/mcp") ? base : `${base}/mcp`;
}

/**
 * A server-sent events parser: feed it text as it arrives, in any pieces; it returns
 * the data of each complete event. Lines end in LF, CRLF or CR; data lines are joined
 * by LF; comments, `event` and events without data are skipped; an event the stream
 * ends inside is dropped. `lastEventId` and `retryMs` keep what a broken-off stream is
 * resumed with.
 */
export class SseParser {
  #line = "";
  #data = [];
  #afterCr = false;
  #started = false;
  lastEventId = undefined;
  retryMs = undefined;

  /** Readies the parser for a resumed stream: the last event id and retry stay. */
  nextStream() {
    this.#line = "";
    this.#data = [];
    this.#afterCr = false;
    this.#started = false;
  }

  feed(text) {
    const events = [];
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.#afterCr) {
      this.#afterCr = false;
      if (text.startsWith("\n")) text = text.slice(1);
    }
    let at = 0;
    for (;;) {
      const match = /[\r\n]/.exec(text.slice(at));
      if (!match) break;
      const end = at + match.index;
      this.#lineEnded(this.#line + text.slice(at, end), events);
      this.#line = "";
      at = end + 1;
      if (text[end] === "\r") {
        if (at === text.length) this.#afterCr = true;
        else if (text[at] === "\n") at += 1;
      }
    }
    this.#line += text.slice(at);
    return events;
  }

  #lineEnded(line, events) {
    if (line === "") {
      const data = this.#data.join("\n");
      this.#data = [];
      if (data !== "") events.push(data);
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value || undefined;
    else if (field === "retry" && /^[0-9]+$/.test(value)) this.retryMs = Number(value);
  }
}

// Where a 2026-07-28 request names its protocol version, in `params._meta`.
const META_VERSION = "io.modelcontextprotocol/protocolVersion";

/**
 * A value as SEP-2243 carries it in a header: as is when it is printable ASCII without
 * surrounding blanks, else (or when it looks like the wrapping) `=?base64?…?=`.
 */
export function headerValue(value) {
  const plain =
    !/^[ \t]|[ \t]$/.test(value) &&
    /^[\x20-\x7e]*$/.test(value) &&
    !(value.startsWith("=?base64?") && value.endsWith("?="));
  return plain ? value : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

/**
 * SEP-2243's `Mcp-Method` and `Mcp-Name` for a single message, which 2026-07-28
 * servers require and earlier ones ignore (a batch has none).
 */
export function standardHeaders(message) {
  const headers = {};
  if (!isObject(message) || typeof message.method !== "string") return headers;
  headers["Mcp-Method"] = headerValue(message.method);
  const key = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
    "resources/subscribe": "uri",
    "resources/unsubscribe": "uri",
    "tasks/get": "taskId",
    "tasks/update": "taskId",
    "tasks/cancel": "taskId",
  }[message.method];
  const name = key === undefined ? undefined : message.params?.[key];
  if (typeof name === "string") headers["Mcp-Name"] = headerValue(name);
  return headers;
}

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

function isResponse(message) {
  if (Array.isArray(message)) return message.length > 0 && message.every(isResponse);
  return (
    isObject(message) &&
    !("method" in message) &&
    "id" in message &&
    ("result" in message || "error" in message)
  );
}

/**
 * The ids of the requests in a message (one, or a batch's), initialize's, and those
 * its `notifications/cancelled` name (as JSON text).
 */
function exchangeOf(message) {
  const requests = [];
  const cancelled = [];
  let initialize;
  for (const m of Array.isArray(message) ? message : [message]) {
    if (isObject(m) && m.method === "notifications/cancelled" && m.params?.requestId !== undefined) {
      cancelled.push(JSON.stringify(m.params.requestId));
    }
    if (!isObject(m) || typeof m.method !== "string" || m.id === undefined || m.id === null) {
      continue;
    }
    if (m.method === "initialize") initialize = m.id;
    requests.push(m.id);
  }
  const version = isObject(message) ? message.params?._meta?.[META_VERSION] : undefined;
  return {
    requests,
    initialize,
    cancelled,
    // The version a 2026-07-28 request declares itself, sent instead of the negotiated one.
    version: typeof version === "string" ? version : undefined,
    standardHeaders: standardHeaders(message),
    controller: new AbortController(),
  };
}

function errorMessage(id, code, message, status) {
  const error = { code, message };
  if (status !== undefined) error.data = { httpStatus: status };
  return { jsonrpc: "2.0", id, error };
}

/** The server's reason in an error body: either surface's error shape, else the text. */
function errorText(body) {
  let text = body.trim();
  try {
    const value = JSON.parse(body);
    const reason =
      (typeof value?.error === "string" && value.error) ||
      (typeof value?.error?.message === "string" && value.error.message) ||
      (typeof value?.message === "string" && value.message);
    if (reason) text = reason;
  } catch {
    // not JSON: the text itself
  }
  text = text.split(/\s+/).filter(Boolean).join(" ");
  const chars = [...text];
  return chars.length > ERROR_TEXT_LIMIT ? `${chars.slice(0, ERROR_TEXT_LIMIT).join("")}…` : text;
}

function describe(error) {
  const parts = [];
  for (let e = error; e; e = e.cause) parts.push(e.message ?? String(e));
  return parts.join(": ");
}

class Bridge {
  constructor(endpoint, key) {
    this.endpoint = endpoint;
    this.key = key;
    this.session = undefined;
    this.protocolVersion = undefined;
  }

  headers(extra, exchange) {
    const headers = { Authorization: `Bearer ${this.key}`, ...extra };
    // `initialize` opens a session: it carries neither the old one nor a version.
    const initialize = exchange?.initialize !== undefined;
    if (!initialize && this.session !== undefined) headers["Mcp-Session-Id"] = this.session;
    const version = exchange?.version ?? (initialize ? undefined : this.protocolVersion);
    if (version !== undefined) headers["MCP-Protocol-Version"] = version;
    return headers;
  }

  send(line) {
    process.stdout.write(`${line}\n`);
  }

  emit(message) {
    this.send(JSON.stringify(message));
  }

  fail(ids, message, status) {
    for (const id of ids) this.emit(errorMessage(id, BRIDGE_ERROR, message, status));
  }

  /** POSTs one message and relays what the server answers. */
  async forward(body, exchange) {
    const { signal } = exchange.controller;
    const sentSession = exchange.initialize === undefined ? this.session : undefined;
    let response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers: this.headers(
          {
            "Content-Type": "application/json",
            Accept: "application/json, text/event-stream",
            ...exchange.standardHeaders,
          },
          exchange,
        ),
        body,
        signal,
      });
    } catch (error) {
      if (signal.aborted) return; // cancelled by the client: it expects no answer
      log(`the server ${this.endpoint} could not be reached: ${describe(error)}`);
      this.fail(
        exchange.requests,
        `Pilot's MCP endpoint ${this.endpoint} could not be reached: ${describe(error)}`,
      );
      return;
    }
    const session = response.headers.get("mcp-session-id");
    if (session) {
      this.session = session;
    } else if (response.status === 404 && sentSession !== undefined && this.session === sentSession) {
      // The server ended the session; the client must initialize again, without it.
      log("the server ended the session; the client must initialize again");
      this.session = undefined;
    }
    const answered = new Set();
    try {
      await this.relay(response, exchange, answered);
    } catch (error) {
      if (!signal.aborted) log(`reading the server's answer failed: ${describe(error)}`);
    }
    if (signal.aborted) return;
    const unanswered = exchange.requests.filter((id) => !answered.has(JSON.stringify(id)));
    if (unanswered.length > 0) {
      log(`the server's answer ended without a response to ${unanswered.length} request(s)`);
      this.fail(
        unanswered,
        "Pilot's MCP endpoint ended its answer without a response to this request",
      );
    }
  }

  async relay(response, exchange, answered) {
    const { status } = response;
    if (status < 200 || status > 299) {
      const text = await response.text().catch(() => "");
      try {
        const message = JSON.parse(text);
        if (isResponse(message)) {
          this.relayMessage(message, undefined, exchange, answered);
          return;
        }
      } catch {
        // not a JSON-RPC answer
      }
      const detail = errorText(text);
      const statusText = `${status}${response.statusText ? ` ${response.statusText}` : ""}`;
      log(`the server refused a message: HTTP ${statusText}${detail ? `: ${detail}` : ""}`);
      this.fail(
        exchange.requests,
        `Pilot's MCP endpoint answered HTTP ${statusText}${detail ? `: ${detail}` : ""}`,
        status,
      );
      for (const id of exchange.requests) answered.add(JSON.stringify(id));
      return;
    }
    if (status === 202 || status === 204) {
      await response.body?.cancel().catch(() => {});
      return;
    }
    const type = (response.headers.get("content-type") ?? "").trim().toLowerCase();
    if (type.startsWith("text/event-stream")) {
      await this.relayStream(response, exchange, answered);
    } else {
      const text = await response.text();
      if (text.trim() !== "") this.relayData(text, exchange, answered);
    }
  }

  /**
   * Relays an event stream until every request in it is answered or it ends. A stream
   * the server ends early, having given an event id, is resumed with a GET carrying
   * Last-Event-ID after the retry it asked for, as long as resuming brings events.
   */
  async relayStream(response, exchange, answered) {
    const parser = new SseParser();
    const allAnswered = () => exchange.requests.every((id) => answered.has(JSON.stringify(id)));
    let fruitless = 0;
    const { signal } = exchange.controller;
    for (;;) {
      const relayed = await this.readStream(response, parser, exchange, answered, allAnswered);
      if (signal.aborted || exchange.requests.length === 0 || allAnswered()) return;
      const lastEventId = parser.lastEventId;
      if (lastEventId === undefined) return;
      fruitless = relayed ? 0 : fruitless + 1;
      if (fruitless > MAX_FRUITLESS_RESUMES) {
        log("resuming the server's event stream brings nothing; giving up");
        return;
      }
      const delay = Math.min(parser.retryMs ?? 1000, MAX_RETRY_MS);
      await new Promise((resolve) => setTimeout(resolve, delay));
      log(`resuming the server's event stream after event ${lastEventId}`);
      let resumed;
      try {
        resumed = await fetch(this.endpoint, {
          method: "GET",
          headers: this.headers({ Accept: "text/event-stream", "Last-Event-ID": lastEventId }, exchange),
          signal,
        });
      } catch (error) {
        if (signal.aborted) return;
        log(`resuming the server's event stream failed: ${describe(error)}`);
        continue;
      }
      const type = (resumed.headers.get("content-type") ?? "").trim().toLowerCase();
      if (!resumed.ok || !type.startsWith("text/event-stream")) {
        log(`the server would not resume its event stream: HTTP ${resumed.status}`);
        await resumed.body?.cancel().catch(() => {});
        return;
      }
      response = resumed;
      parser.nextStream();
    }
  }

  /** Reads one event stream to its end, or until every request is answered. */
  async readStream(response, parser, exchange, answered, allAnswered) {
    let relayed = false;
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const data of parser.feed(decoder.decode(value, { stream: true }))) {
          relayed = true;
          this.relayData(data, exchange, answered);
        }
        if (exchange.requests.length > 0 && allAnswered()) {
          break; // every response is in; a server that keeps the stream open is not waited for
        }
      }
    } catch (error) {
      if (!exchange.controller.signal.aborted) {
        log(`the server's event stream broke off: ${describe(error)}`);
      }
    } finally {
      reader.cancel().catch(() => {});
    }
    return relayed;
  }

  relayData(data, exchange, answered) {
    if (data.trim() === "") return;
    let message;
    try {
      message = JSON.parse(data);
    } catch (error) {
      log(`the server sent something that is not JSON; dropped (${error.message})`);
      return;
    }
    this.relayMessage(message, data, exchange, answered);
  }

  relayMessage(message, raw, exchange, answered) {
    for (const m of Array.isArray(message) ? message : [message]) {
      if (!isResponse(m)) continue;
      answered.add(JSON.stringify(m.id));
      if (
        exchange.initialize !== undefined &&
        JSON.stringify(m.id) === JSON.stringify(exchange.initialize) &&
        typeof m.result?.protocolVersion === "string"
      ) {
        this.protocolVersion = m.result.protocolVersion;
      }
    }
    if (raw !== undefined && !/[\r\n]/.test(raw)) this.send(raw.trim());
    else this.emit(message);
  }

  /** Ends the server's session, if it opened one. */
  async closeSession() {
    if (this.session === undefined) return;
    try {
      const response = await fetch(this.endpoint, {
        method: "DELETE",
        headers: this.headers({}),
        signal: AbortSignal.timeout(DELETE_TIMEOUT_MS),
      });
      await response.body?.cancel().catch(() => {});
      if (response.ok) log("session closed");
      else log(`the server did not close the session: HTTP ${response.status}`);
    } catch (error) {
      log(`closing the session failed: ${describe(error)}`);
    }
  }
}

async function main() {
  let flags;
  try {
    ({ values: flags } = parseArgs({
      options: { url: { type: "string" }, key: { type: "string" } },
      strict: true,
    }));
  } catch (error) {
    console.error(`mcp-server: ${error.message}\nusage: node scripts/mcp-server.mjs [--url URL] [--key KEY]`);
    process.exit(2);
  }
  const url = setting(flags.url, "PILOT_API_URL", "BIZOPS_API_URL") ?? DEFAULT_URL;
  const key = setting(flags.key, "PILOT_API_KEY", "BIZOPS_API_KEY");
  if (key === undefined) {
    console.error(
      "mcp-server: no API key: pass --key, or set BIZOPS_API_KEY (or PILOT_API_KEY) to a Pilot API key (pk_…)",
    );
    process.exit(2);
  }
  const bridge = new Bridge(mcpEndpoint(url), key);
  log(`forwarding stdio to ${bridge.endpoint}`);

  // Requests are forwarded concurrently; initialize and messages without an answer
  // (notifications, responses) in order, each delivered before the next line is read.
  // The requests in flight, by id, so a cancellation can drop the one it names.
  const inFlight = new Map();
  let closing;
  const close = (why) => {
    closing ??= (async () => {
      log(why);
      for (const { controller } of inFlight.values()) controller.abort();
      await bridge.closeSession();
      // Let stdout drain before leaving.
      process.stdout.write("", () => process.exit(0));
    })();
    return closing;
  };
  for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => close(`${signal}; closing`));

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const raw of lines) {
    const line = raw.trim();
    if (line === "") continue;
    let message;
    try {
      message = JSON.parse(line);
    } catch (error) {
      log(`a line on stdin is not JSON: ${error.message}`);
      bridge.emit(errorMessage(null, -32700, `parse error: ${error.message}`));
      continue;
    }
    const exchange = exchangeOf(message);
    if (exchange.initialize !== undefined || exchange.requests.length === 0) {
      await bridge.forward(line, exchange);
    } else {
      const task = bridge.forward(line, exchange);
      const entry = { task, controller: exchange.controller };
      const ids = exchange.requests.map((id) => JSON.stringify(id));
      for (const id of ids) inFlight.set(id, entry);
      task
        .finally(() => {
          for (const id of ids) if (inFlight.get(id) === entry) inFlight.delete(id);
        })
        .catch((error) => log(`forwarding failed: ${describe(error)}`));
    }
    // The server has the cancellation; the client expects no answer any more, so the
    // request's stream is dropped (which tells the server too).
    for (const id of exchange.cancelled) {
      inFlight.get(id)?.controller.abort();
      inFlight.delete(id);
    }
  }

  let timer;
  const grace = new Promise((resolve) => {
    timer = setTimeout(resolve, CLOSING_GRACE_MS, "timeout");
  });
  const tasks = [...new Set([...inFlight.values()].map(({ task }) => task))];
  if ((await Promise.race([Promise.allSettled(tasks), grace])) === "timeout") {
    log(`stdin ended; ${inFlight.size} request(s) still unanswered are abandoned`);
  }
  clearTimeout(timer);
  await close("stdin ended; closing");
}

// stdout gone (the client quit): nothing left to answer.
process.stdout.on("error", () => process.exit(0));

if (process.argv[1]?.endsWith("mcp-server.mjs")) {
  main().catch((error) => {
    log(`failed: ${describe(error)}`);
    process.exit(1);
  });
}
