// The dashboard driven in a real browser: Debian's headless Chromium through
// playwright-core, against a real `pilot serve` (started by .ci/browser.sh), with
// axe-core checking every page it visits. Each step asserts what a person would see.
//
// Environment: PILOT_URL (the server), SETUP_URL (the one-time link serve printed),
// SINK_PORT (a port this script serves its receiver on: the pilot's Slack URL and
// its run-event endpoint), CHROMIUM (the browser), SCREENSHOTS (a folder).

import assert from "node:assert/strict";
import { readFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const base = process.env.PILOT_URL;
const setupUrl = process.env.SETUP_URL;
const sinkPort = Number(process.env.SINK_PORT);
const shots = process.env.SCREENSHOTS ?? "screenshots";
assert.ok(base && setupUrl && sinkPort, "PILOT_URL, SETUP_URL and SINK_PORT are set");
mkdirSync(shots, { recursive: true });

// The receiver: `/slack` takes the pilot's post; `/events` (the pilot's run events)
// answers 500 until told otherwise, so every retry fails (the server runs with
// one-second retries, `[webhooks] retry_delays_secs`) and the first delivery ends
// dead; then 410 Gone, which disables the endpoint; then 200.
let eventsAnswer = 500;
const received = { slack: 0, events: 0 };
const sink = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if (req.url.startsWith("/slack")) {
      received.slack += 1;
      res.writeHead(200).end("ok");
    } else {
      received.events += 1;
      res.writeHead(eventsAnswer).end(eventsAnswer === 200 ? "ok" : "gone");
    }
  });
});
await new Promise((ok) => sink.listen(sinkPort, "127.0.0.1", ok));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const problems = [];
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
page.on("console", (message) => {
  if (message.type() === "error") problems.push(`console: ${message.text()}`);
});

let step = 0;
async function check(name) {
  // No serious or critical accessibility violation, and no script error or CSP
  // refusal on the page so far.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`);
  });
  assert.deepEqual(result, [], `axe on ${name}`);
  assert.deepEqual(problems, [], `no script errors on ${name}`);
  step += 1;
  await page.screenshot({ path: `${shots}/${String(step).padStart(2, "0")}-${name}.png`, fullPage: true });
  console.log(`  ok    ${name}`);
}

async function textOf(selector) {
  return (await page.locator(selector).first().textContent()).trim();
}

const email = "owner@example.com";
const password = "correct horse battery";

// First start: the setup link makes the first owner, signed in.
await page.goto(setupUrl);
await check("setup");
await page.fill('input[name="email"]', email);
await page.fill('input[name="password"]', password);
await page.click('button[type="submit"]');
await page.waitForURL(`${base}/`);
assert.equal(await textOf("h1"), "Overview");
await check("overview");

// Sign out, then in.
await page.click('button:has-text("Sign out")');
await page.waitForURL(/\/signin/);
await check("signin");
await page.fill('input[name="email"]', email);
await page.fill('input[name="password"]', "wrong password!");
await page.click('button[type="submit"]');
assert.match(await textOf('[role="alert"]'), /Email or password is wrong/);
problems.length = 0; // the refused sign-in's 401, logged by the browser, was meant
await page.fill('input[name="password"]', password);
await page.click('button[type="submit"]');
await page.waitForURL(`${base}/`);

// CSRF: a state-changing request without the form's token is refused, with the
// session cookie the browser holds.
const forged = await page.request.post(`${base}/secrets`, {
  form: { name: "FORGED", value: "x" },
  maxRedirects: 0,
});
assert.equal(forged.status(), 403, "a form without _csrf is refused");
const forgedWrong = await page.request.post(`${base}/secrets`, {
  form: { _csrf: "not-the-token", name: "FORGED", value: "x" },
  maxRedirects: 0,
});
assert.equal(forgedWrong.status(), 403, "a form with another token is refused");

// API keys: created, shown once, gone after a reload.
await page.goto(`${base}/keys`);
await page.fill('input[name="name"]', "ci-backend");
await page.click('button:has-text("Create key")');
const key = await textOf("#new-key");
assert.match(key, /^pk_live_/);
assert.match(await textOf("#new-secret"), /^whsec_/);
await check("keys-created");
await page.goto(`${base}/keys`);
assert.equal(await page.locator("#new-key").count(), 0, "the key is not shown again");
assert.ok((await page.content()).includes("ci-backend"));
assert.ok(!(await page.content()).includes(key), "the full key is nowhere on the page");
// The key works against the API; the session cookie does not.
const me = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
assert.equal(me.status, 200);
const cookieOnly = await page.request.get(`${base}/api/v1/me`);
assert.equal(cookieOnly.status(), 401, "a session cookie does not authenticate the API");
await page.goto(`${base}/keys`);
const used = await page.locator('tr:has-text("ci-backend")').textContent();
assert.ok(!used.includes("never"), `the key's last use is shown: ${used}`);

// A pilot from a description, in test mode (the scripted drafter), its drafted
// steps shown before saving; its run events go to the receiver.
await page.goto(`${base}/pilots/new?env=test`);
await page.fill('input[name="title"]', "Summarize new orders");
await page.fill('textarea[name="description"]', "When an order comes in, summarize it with AI and post to Slack.");
await page.fill('textarea[name="sample_payload"]', '{"orderId": "1234", "total": 49.0}');
await page.fill('input[name="notify_url"]', `http://127.0.0.1:${sinkPort}/events`);
await page.click('button:has-text("Draft steps")');
const drafted = await page.inputValue("#steps");
assert.match(drafted, /"type": "llm"/, "the drafted steps are shown before saving");
assert.match(await page.content(), /SLACK_WEBHOOK_URL/, "missing secrets are named");
await check("pilot-drafted");
await page.click('button:has-text("Save pilot")');
await page.waitForURL(/\/pilots\/\d+/);
const pilotUrl = page.url();
await check("pilot");

// Run it; the run page updates live (server-sent events) without reloading. The
// http step fails: SLACK_WEBHOOK_URL is not set yet.
await page.fill('textarea[name="payload"]', '{"orderId": "1234", "total": 49.0}');
await page.click('button:has-text("Run")');
await page.waitForURL(/\/runs\/\d+/);
let navigations = 0;
page.on("framenavigated", (frame) => {
  if (frame === page.mainFrame()) navigations += 1;
});
await page.waitForFunction(() => document.querySelector("#run-status")?.textContent.trim() === "failed", null, { timeout: 30000 });
assert.equal(navigations, 0, "the run finished on the page without a reload");
assert.match(await textOf("#run-error"), /SLACK_WEBHOOK_URL/);
await check("run-failed");

// Set the secret, retry from the failed step: the new run succeeds.
const failedRun = page.url();
await page.goto(`${base}/secrets?env=test`);
await page.fill('input[name="name"]', "SLACK_WEBHOOK_URL");
await page.fill('input[name="value"]', `http://127.0.0.1:${sinkPort}/slack`);
await page.click('button:has-text("Save")');
await page.waitForURL(/\/secrets/);
assert.ok((await page.content()).includes("SLACK_WEBHOOK_URL"));
await check("secrets");
await page.goto(failedRun);
await page.click('button:has-text("Retry from the failed step")');
await page.waitForURL(/\/runs\/\d+\?.*flash=retried/);
await page.waitForFunction(() => document.querySelector("#run-status")?.textContent.trim() === "success", null, { timeout: 30000 });
assert.ok(received.slack >= 1, "the retried http step reached the receiver");
await check("run-retried");

// Runs across pilots, filtered.
await page.goto(`${base}/runs?env=test&status=failed`);
assert.ok((await page.content()).includes("Summarize new orders"));
await check("runs");

// A test-mode deliberation: its panel is shown.
await page.goto(`${base}/deliberations?env=test`);
// What a submission reserves, from the same table as GET /v1/api/pricing.
const costs = await page.locator('h2:has-text("What it costs") + p + .table-wrap tbody tr').allTextContents();
assert.equal(costs.length, 9, "three modes, three difficulties");
assert.ok(costs.some((row) => row.includes("deliberation1") && row.includes("MEDIUM") && row.includes("4.2")), costs.join(" | "));
await check("deliberations");
await page.fill('textarea[name="question"]', "Should we launch the pricing change in Q3 or wait a quarter?");
await page.click('button:has-text("Submit")');
await page.waitForURL(/\/deliberations\/del_/);
await page.waitForFunction(() => document.querySelector("#deliberation-status")?.textContent.trim() === "completed", null, { timeout: 60000 });
assert.ok((await page.locator("details").count()) >= 5, "the panel's answers are shown");
await check("deliberation");

// A deliberation2: the panel stops at each checkpoint and the page shows its form,
// live; each answer resumes it, and the person's changes reach the panel.
async function checkpointOpen(seq) {
  await page.waitForFunction(
    (n) => document.querySelector("#checkpoint h2")?.textContent.includes(`Checkpoint ${n}:`),
    seq,
    { timeout: 60000 },
  );
}
await page.goto(`${base}/deliberations?env=test`);
await page.fill('textarea[name="question"]', "Should we open a second warehouse before the holiday season?");
await page.selectOption('select[name="mode"]', "deliberation2");
await page.click('button:has-text("Submit")');
await page.waitForURL(/\/deliberations\/del_/);
await checkpointOpen(1);
const keeps = page.locator('#checkpoint-form input[name^="keep_"]');
assert.equal(await keeps.count(), 7, "five personas and two specialists");
const dropped = (await keeps.first().getAttribute("name")).slice("keep_".length);
await keeps.first().uncheck();
const adds = page.locator('#checkpoint-form input[name^="add_"]');
const added = (await adds.first().getAttribute("name")).slice("add_".length);
await adds.first().check();
await page.fill('#checkpoint-form input[name="constraint"]', "Keep the budget flat.");
await check("checkpoint-answers");
await page.click('button:has-text("Answer the checkpoint")');
await page.waitForURL(/flash=answered/);
await checkpointOpen(2);
const revisable = await page.locator('#checkpoint-form input[name^="revise_"]').evaluateAll((boxes) => boxes.map((b) => b.name.slice("revise_".length)));
assert.ok(revisable.includes(added) && !revisable.includes(dropped), `the panel as left: ${revisable}`);
await page.locator('#checkpoint-form input[name^="revise_"]').first().check();
await check("checkpoint-reviews");
await page.click('button:has-text("Answer the checkpoint")');
await page.waitForURL(/flash=answered/);
await checkpointOpen(3);
await page.check('#checkpoint-form input[value="send_back"]');
await page.fill('#checkpoint-form textarea[name="note"]', "Say what it costs.");
await check("checkpoint-draft");
await page.click('button:has-text("Answer the checkpoint")');
await page.waitForURL(/flash=answered/);
await checkpointOpen(4);
await page.click('button:has-text("Answer the checkpoint")');
await page.waitForFunction(() => document.querySelector("#deliberation-status")?.textContent.trim() === "completed", null, { timeout: 60000 });
assert.equal(await page.locator("#checkpoint").count(), 0, "no checkpoint once completed");
await check("deliberation2");

// Deliveries: the first run event met 500 on every retry: it is dead. A run event
// met with 410 Gone disables the endpoint. Replay the dead one (it waits for the
// endpoint), re-enable the endpoint: it is delivered.
async function reloadUntil(url, text, what) {
  await page.goto(url);
  for (let i = 0; i < 150 && !(await page.content()).includes(text); i += 1) {
    await page.waitForTimeout(200);
    await page.goto(url);
  }
  assert.ok((await page.content()).includes(text), what);
}
await reloadUntil(`${base}/deliveries?env=test&status=dead`, "status-dead", "a delivery is dead after its retries");
await check("deliveries-dead");
const deadUrl = `${base}${await page.locator('a[href^="/deliveries/dlv_"]').first().getAttribute("href")}`;
eventsAnswer = 410;
await page.goto(pilotUrl);
await page.fill('textarea[name="payload"]', '{"orderId": "1235", "total": 12.0}');
await page.click('button:has-text("Run")');
await page.waitForURL(/\/runs\/\d+/);
await reloadUntil(`${base}/deliveries?env=test`, "Re-enable", "410 Gone disables the endpoint");
await check("deliveries");
eventsAnswer = 200;
await page.goto(deadUrl);
assert.match(await page.content(), /status-dead/);
await page.click('button:has-text("Replay")');
await page.waitForURL(/flash=replayed/);
await page.goto(`${base}/deliveries?env=test`);
await page.click('button:has-text("Re-enable")');
await page.waitForURL(/flash=enabled/);
await reloadUntil(deadUrl, "status-succeeded", "the replayed delivery went out once the endpoint was enabled");
await check("delivery");

// Text is escaped everywhere: a pilot titled with a script tag shows as text.
await page.goto(`${base}/pilots/new`);
await page.fill('input[name="title"]', "<script>alert(1)</script>");
await page.fill('textarea[name="description"]', "x");
await page.fill("#steps", '[{"id": "t", "type": "transform", "values": {"a": 1}}]');
await page.click('button:has-text("Save pilot")');
await page.waitForURL(/\/pilots\/\d+/);
assert.equal(await textOf("h1"), "<script>alert(1)</script>", "the title renders as text");
await page.goto(`${base}/pilots`);
assert.ok((await page.content()).includes("&lt;script&gt;"), "escaped in the list");
await check("pilots");

await page.goto(`${base}/usage?env=test`);
await check("usage");

// Small screens: the overview at 360 px has no horizontal scroll.
await page.setViewportSize({ width: 360, height: 740 });
await page.goto(`${base}/`);
const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
assert.ok(overflow <= 0, `no horizontal scroll at 360 px (${overflow} px)`);
await check("overview-360");

// Sign out: the session is gone, pages send to sign-in.
await page.click('button:has-text("Sign out")');
await page.waitForURL(/\/signin/);
await page.goto(`${base}/pilots`);
assert.match(page.url(), /\/signin\?next=/);

await browser.close();
sink.close();
console.log(`  ok    dashboard in Chromium: ${step} pages checked`);
