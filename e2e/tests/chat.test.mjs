// DER IQ Chat end to end: the real `deriq serve`, the embedded database and headless
// Chromium. Every answer the page shows is checked against what the API answers for the
// same user, so nothing here depends on fixed figures.

import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ARTIFACTS, accessibilityProblems, ask, api, devSignIn, launch, openPage, screenshot, streamed, tokenOf, watchStream } from "../support/browser.mjs";
import { prepareDatabase, startServer } from "../support/server.mjs";

const SAFETY_MANAGER = "safety_manager@permian-hauling.example";
const AUDITOR = "auditor@sentinel-compliance.example";
const DER = "der@permian-hauling.example";
const GROUPED = "Drug tests by reason this year";
const MONTHLY = "Monthly drug test counts this year";
const REGULATORY = "How soon after an accident must the alcohol test happen?";

// Each test gets two minutes; a hang fails the run instead of stalling CI.
const LIMIT = { timeout: 120_000 };

let server;
let browser;

before(
  async () => {
    prepareDatabase();
    server = await startServer();
    browser = await launch();
  },
  { timeout: 1_500_000 }, // the first ingest of the corpus takes a few minutes
);

after(async () => {
  await browser?.close();
  await server?.stop();
  if (server) await writeFile(join(ARTIFACTS, "server.log"), server.log());
});

const textsOf = (locator) => locator.allInnerTexts();
const cellValue = (text) => (/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text);
const shown = (v) => (v === null ? "—" : Array.isArray(v) ? v.join(", ") : typeof v === "boolean" ? (v ? "yes" : "no") : String(v));

/** Scrolls a turn to the top of the window (below the header), for screenshots. */
const showTurn = (turn) => turn.evaluate((el) => el.scrollIntoView({ block: "start" }));

/** The table of an answer, as rows of cell texts. */
async function tableOf(turn) {
  const rows = turn.locator("table tbody tr");
  const out = [];
  for (let i = 0; i < (await rows.count()); i++) out.push(await textsOf(rows.nth(i).locator("td")));
  return out;
}

describe("DER IQ Chat", () => {
  test("the page is served with a strict CSP, content-hashed assets and cache headers", LIMIT, async () => {
    const r = await fetch(`${server.url}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type"), /^text\/html/);
    const csp = r.headers.get("content-security-policy");
    for (const d of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(d), csp);
    assert.ok(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), csp);
    assert.equal(r.headers.get("cache-control"), "no-cache");
    const html = await r.text();
    const js = /src="(\/app\.js\?v=[0-9a-f]+)"/.exec(html)?.[1];
    const css = /href="(\/app\.css\?v=[0-9a-f]+)"/.exec(html)?.[1];
    assert.ok(js && css, "assets are named by their content hash");
    let weight = Buffer.byteLength(html);
    for (const [path, type] of [[js, /^text\/javascript/], [css, /^text\/css/]]) {
      const a = await fetch(`${server.url}${path}`);
      assert.equal(a.status, 200);
      assert.match(a.headers.get("content-type"), type);
      assert.match(a.headers.get("cache-control"), /immutable/);
      weight += (await a.arrayBuffer()).byteLength;
      const again = await fetch(`${server.url}${path}`, { headers: { "If-None-Match": a.headers.get("etag") } });
      assert.equal(again.status, 304, "a revalidation with the ETag is answered 304");
    }
    console.log(`page weight: ${(weight / 1024).toFixed(1)} KiB (HTML + JS + CSS, uncompressed)`);
  });

  test("a safety manager asks a data question: a table, a bar chart, marked SQL, a follow-up, a time series, and an export that needs MFA", LIMIT, async () => {
    const { page, context, problems } = await openPage(browser, server.url);
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to the question box", "the skip link comes first");
    await devSignIn(page, SAFETY_MANAGER);
    const token = await tokenOf(page);
    const me = (await api(server.url, "/api/der-iq/me", token)).body;
    const who = await page.locator("#who").innerText();
    for (const part of ["Safety Manager", me.full_name, me.tenant.name, ...me.locations.map((l) => l.name)]) assert.ok(who.includes(part), `the header names ${part}: ${who}`);
    assert.equal(await page.evaluate(() => document.activeElement.id), "question", "the question box has the focus");

    // Shift+Enter adds a line instead of sending.
    await page.getByLabel("Your question").press("Shift+Enter");
    assert.equal(await page.locator("#turns > li.turn").count(), 0);
    await page.getByLabel("Your question").fill("");

    await watchStream(page);
    const turn = await ask(page, GROUPED);
    assert.equal(await turn.locator(".a").getAttribute("data-kind"), "data");
    // The steps were shown as they happened: each was in progress, then done, in pipeline order.
    const finished = (await streamed(page)).filter((e) => e.step && e.before.includes("active")).map((e) => e.step);
    assert.deepEqual(finished.filter((s) => ["drafting", "guarding", "running", "auditing"].includes(s)), ["drafting", "guarding", "running", "auditing"]);
    const direct = (await api(server.url, "/api/der-iq/query", token, { question: GROUPED })).body;
    assert.equal(direct.kind, "data");
    assert.ok(direct.rows.length >= 2, "the grouped question has several groups");
    assert.deepEqual(await textsOf(turn.locator("thead th")), direct.columns.map((c) => c.name));
    assert.deepEqual(await tableOf(turn), direct.rows.map((r) => r.map(shown)));
    assert.equal(await turn.locator(".rowcount").innerText(), `${direct.rows.length} rows`);
    // The steps the pipeline reported are shown as done.
    const steps = await textsOf(turn.locator(".steps li.done:not([hidden])"));
    for (const s of ["Drafting the query", "Checking it", "Running it"]) assert.ok(steps.includes(s), `step ${s}: ${steps}`);

    // A bar per group, as long as its count.
    const chart = turn.locator("figure.chart[data-chart=bar]");
    await chart.locator("svg").waitFor();
    const bars = chart.locator("rect.bar");
    assert.equal(await bars.count(), direct.rows.length);
    const widths = [];
    for (let i = 0; i < direct.rows.length; i++) widths.push(Number(await bars.nth(i).getAttribute("width")));
    const counts = direct.rows.map((r) => r[1]);
    const biggest = counts.indexOf(Math.max(...counts));
    assert.equal(widths.indexOf(Math.max(...widths)), biggest, "the longest bar is the largest count");

    // Sorting by count, both ways (from the keyboard first).
    await turn.getByRole("button", { name: "count", exact: true }).focus();
    await page.keyboard.press("Enter");
    assert.equal(await turn.locator("th").nth(1).getAttribute("aria-sort"), "ascending");
    const asc = (await tableOf(turn)).map((r) => cellValue(r[1]));
    assert.deepEqual(asc, [...counts].sort((a, b) => a - b));
    await turn.getByRole("button", { name: "count", exact: true }).click();
    const desc = (await tableOf(turn)).map((r) => cellValue(r[1]));
    assert.deepEqual(desc, [...counts].sort((a, b) => b - a));

    // The SQL that ran, with the scope predicates marked.
    await turn.locator("summary", { hasText: "Show the SQL" }).click();
    const marks = await textsOf(turn.locator("pre.sql mark.scope"));
    assert.ok(marks.length >= 2, `tenant and location predicates are marked: ${marks}`);
    assert.ok(marks.some((m) => m.includes("tenant_id")) && marks.some((m) => m.includes("location_id")), marks.join(" | "));
    assert.equal((await turn.locator("pre.sql").first().innerText()).replace(/\s+/g, " "), direct.sql.replace(/\s+/g, " "));
    await turn.locator("summary", { hasText: "Show the SQL" }).click();
    await showTurn(turn);
    assert.deepEqual(await accessibilityProblems(page), [], "contrast, labels and names with a data answer");
    await screenshot(page, "chat-1280-data");
    await turn.locator("summary", { hasText: "Show the SQL" }).click();

    // A follow-up refines the question in the same conversation.
    const follow = await ask(page, "only the ones in Texas");
    assert.equal(await follow.locator(".q .tag").innerText(), "Follow-up");
    assert.equal(await follow.locator(".a").getAttribute("data-kind"), "data");
    await follow.locator("summary", { hasText: "Show the SQL" }).click();
    const followSql = await follow.locator("pre.sql").first().innerText();
    assert.ok(followSql.includes("'TX'"), `the follow-up filters on Texas: ${followSql}`);
    assert.ok(/reason/i.test(followSql), "and keeps the grouping of the first question");
    const followRows = await tableOf(follow);
    const followTotal = followRows.reduce((n, r) => n + Number(r[1]), 0);
    assert.ok(followTotal <= counts.reduce((a, b) => a + b, 0), "a refinement never finds more");

    // A time series is drawn as a line.
    const monthly = await ask(page, MONTHLY);
    const line = monthly.locator("figure.chart[data-chart=line]");
    await line.locator("svg").waitFor();
    assert.equal(await line.locator("circle.dot").count(), (await tableOf(monthly)).length);

    // Full records: the export needs a recent MFA, and the page says so.
    assert.match(await turn.locator(".export p").first().innerText(), /needs MFA/);
    await turn.getByRole("button", { name: "Export CSV" }).click();
    await turn.locator(".export .result.err").waitFor();
    assert.match(await turn.locator(".export .result").innerText(), /MFA required/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("an auditor gets a cited regulatory answer expandable to its section, the schema panel, and a de-identified CSV export", LIMIT, async () => {
    const { page, context, problems } = await openPage(browser, server.url);
    await devSignIn(page, AUDITOR);
    const token = await tokenOf(page);
    const me = (await api(server.url, "/api/der-iq/me", token)).body;
    assert.ok(me.assigned_companies.length > 0);
    const who = await page.locator("#who").innerText();
    for (const part of ["Auditor", "De-identified", ...me.assigned_companies.map((c) => c.name)]) assert.ok(who.includes(part), `the header names ${part}: ${who}`);

    await watchStream(page);
    const reg = await ask(page, REGULATORY);
    assert.equal(await reg.locator(".a").getAttribute("data-kind"), "regulatory");
    const direct = (await api(server.url, "/api/der-iq/query", token, { question: REGULATORY })).body;
    // The answer text streamed in: it grew over several pieces before it was complete.
    const texts = (await streamed(page)).filter((e) => e.text !== undefined).map((e) => e.text);
    assert.ok(texts.length >= 3, `the answer arrived in pieces: ${texts.length}`);
    assert.ok(texts.every((t, i) => i === 0 || t.length >= texts[i - 1].length), "each piece adds to the text");
    assert.equal(texts.at(-1), direct.answer);
    assert.ok(direct.citations.length > 0);
    assert.deepEqual(await textsOf(reg.locator(".citation .ref")), direct.citations.map((c) => c.citation));
    const first = direct.citations[0].citation;
    assert.match(first, /^49 CFR 382\.303/, "the post-accident testing rule is cited first");

    // Expand the first citation to its whole section.
    const section = first.replace(/(\([^)]*\))+$/, "");
    await reg.getByRole("button", { name: `Show the whole section ${section}` }).first().click();
    const paragraphs = reg.locator(".section-text").first().locator("p[data-citation]");
    await paragraphs.first().waitFor();
    const whole = (await api(server.url, "/api/der-iq/search", token, { query: section, k: 20 })).body.results.filter((p) => p.citation === section || p.citation.startsWith(`${section}(`));
    assert.ok(whole.length > 0, "the section is in the index");
    const cited = [];
    for (let i = 0; i < (await paragraphs.count()); i++) cited.push(await paragraphs.nth(i).getAttribute("data-citation"));
    assert.deepEqual(cited, whole.map((p) => p.citation));
    const squash = (t) => t.replace(/\s+/g, " ").trim();
    const expanded = squash((await textsOf(paragraphs)).join(" "));
    assert.equal(expanded, squash(whole.map((p) => p.text).join(" ")));
    const passage = squash(direct.citations[0].text);
    assert.ok(expanded.includes(passage) && expanded.length > passage.length, "the whole section holds the cited passage and more");
    await showTurn(reg);
    assert.deepEqual(await accessibilityProblems(page), [], "contrast, labels and names with a regulatory answer");
    await screenshot(page, "chat-1280-regulatory");

    // "What can I ask?" lists the modules the role may use, from /api/der-iq/schema.
    const schema = (await api(server.url, "/api/der-iq/schema", token)).body;
    await page.getByRole("button", { name: "What can I ask?" }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.locator("dialog#help");
    await dialog.locator("section.module").first().waitFor();
    assert.ok(await dialog.evaluate((d) => d.contains(document.activeElement)), "the focus moves into the panel");
    assert.deepEqual(await textsOf(dialog.locator("section.module h3")), [...schema.modules.map((m) => m.label), "Regulations"]);
    assert.match(await dialog.innerText(), /de-identified/);
    await page.keyboard.press("Escape");
    assert.equal(await dialog.evaluate((d) => d.open), false, "Escape closes the panel");
    assert.equal(await page.evaluate(() => document.activeElement.id), "help-open", "and the focus goes back to its button");

    // A de-identified export: no MFA needed; the file is what the table shows.
    const data = await ask(page, GROUPED);
    const table = await tableOf(data);
    assert.match(await data.locator(".export p").first().innerText(), /no MFA is needed/);
    const [download] = await Promise.all([page.waitForEvent("download"), data.getByRole("button", { name: "Export CSV" }).click()]);
    assert.match(download.suggestedFilename(), /^der-iq-.*\.csv$/);
    const csv = (await readFile(await download.path(), "utf8")).trim().split(/\r?\n/);
    assert.deepEqual(csv[0].split(","), await textsOf(data.locator("thead th")));
    assert.deepEqual(csv.slice(1).map((l) => l.split(",")), table);
    await data.locator(".export .result", { hasText: "audit log" }).waitFor();

    // A follow-up's export is the question as refined so far: the same rows as shown.
    const follow = await ask(page, "only the ones in Texas");
    assert.equal(await follow.locator(".a").getAttribute("data-kind"), "data");
    assert.match(await follow.locator(".export p").first().innerText(), /as refined so far: “Drug tests by reason this year only the ones in Texas”/);
    const [followDownload] = await Promise.all([page.waitForEvent("download"), follow.getByRole("button", { name: "Export CSV" }).click()]);
    const followCsv = (await readFile(await followDownload.path(), "utf8")).trim().split(/\r?\n/);
    assert.deepEqual(followCsv.slice(1).map((l) => l.split(",")), await tableOf(follow));
    await follow.locator(".export .result", { hasText: "audit log" }).waitFor();
    assert.doesNotMatch(await follow.locator(".export .result").innerText(), /differs/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("a forbidden question is refused with the reason and questions the role can ask instead", LIMIT, async () => {
    const { page, context, problems } = await openPage(browser, server.url);
    await devSignIn(page, DER);
    const refused = await ask(page, "How many OSHA recordable injuries this year?");
    assert.equal(await refused.locator(".a").getAttribute("data-kind"), "refused");
    const why = await refused.locator(".why").innerText();
    assert.match(why, /Why this was refused/);
    assert.match(await refused.locator(".answer-text").innerText(), /cannot query Occupational Health/);
    assert.equal(await refused.locator("table").count(), 0, "nothing ran");
    const suggestions = refused.locator(".why .suggestions button");
    assert.ok((await suggestions.count()) > 0);
    // A suggestion is a question the role may ask: it gets an answer.
    const suggestion = await suggestions.first().innerText();
    await suggestions.first().click();
    const next = page.locator("#turns > li.turn").nth(1);
    await next.locator(".a:not([aria-busy])").waitFor();
    assert.equal(await next.locator(".q").innerText(), suggestion);
    assert.notEqual(await next.locator(".a").getAttribute("data-kind"), "refused");

    const odd = await ask(page, "What's the weather in Houston?");
    assert.equal(await odd.locator(".a").getAttribute("data-kind"), "not_understood");
    assert.ok((await odd.locator(".why .suggestions button").count()) > 0);
    await showTurn(refused);
    assert.deepEqual(await accessibilityProblems(page), [], "contrast, labels and names with refusals");
    await screenshot(page, "chat-1280-refusal");
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("a compliance manager narrows questions to one assigned company", LIMIT, async () => {
    const { page, context, problems } = await openPage(browser, server.url);
    await devSignIn(page, "compliance_manager@sentinel-compliance.example");
    const token = await tokenOf(page);
    const me = (await api(server.url, "/api/der-iq/me", token)).body;
    assert.ok(me.assigned_companies.length >= 2, "the compliance company has several companies");
    const everyone = (await api(server.url, "/api/der-iq/query", token, { question: GROUPED })).body;
    const all = await ask(page, GROUPED);
    assert.deepEqual(await tableOf(all), everyone.rows.map((r) => r.map(shown)));
    const gulf = me.assigned_companies.find((c) => c.name.startsWith("Gulf Coast"));
    await page.getByLabel("Asking about").selectOption(gulf.id);
    const narrowed = (await api(server.url, "/api/der-iq/query", token, { question: GROUPED }, { "X-Tenant-ID": gulf.id })).body;
    const one = await ask(page, GROUPED);
    assert.deepEqual(await tableOf(one), narrowed.rows.map((r) => r.map(shown)));
    assert.notDeepEqual(narrowed.rows, everyone.rows, "one company is not all of them");
    assert.ok(narrowed.sql.includes("tenant_id"));
    assert.deepEqual(await accessibilityProblems(page), []);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("a long list stops at the row cap and says so; record lists get no chart", LIMIT, async () => {
    const { page, context, problems } = await openPage(browser, server.url);
    await devSignIn(page, "compliance_manager@sentinel-compliance.example");
    const token = await tokenOf(page);
    const question = "Show all drug tests";
    const direct = (await api(server.url, "/api/der-iq/query", token, { question })).body;
    assert.equal(direct.kind, "data");
    const turn = await ask(page, question);
    assert.equal(await turn.locator("table tbody tr").count(), direct.rows.length);
    assert.equal(await turn.locator(".rowcount").innerText(), `${direct.rows.length} rows`);
    const capped = direct.rows.length >= direct.row_cap_applied;
    assert.ok(capped, `the demo data has more drug tests than the cap of ${direct.row_cap_applied}`);
    assert.equal(await turn.locator(".cap").innerText(), `Only the first ${direct.row_cap_applied} rows are shown (row cap). Narrow the question to see the rest.`);
    assert.equal(await turn.locator("figure.chart").count(), 0, "a list of records is not charted");
    assert.deepEqual(problems, []);
    await context.close();
  });

  test("at 390 px the page fits the screen and stays usable", LIMIT, async () => {
    const { page, context, problems } = await openPage(browser, server.url, { width: 390, height: 844 });
    await screenshot(page, "sign-in-390");
    assert.deepEqual(await accessibilityProblems(page), [], "contrast, labels and names on the sign-in page");
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "no sideways scrolling on the sign-in page");
    await devSignIn(page, SAFETY_MANAGER);
    const turn = await ask(page, GROUPED);
    await turn.locator("figure.chart svg").waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "no sideways scrolling with an answer");
    const box = await turn.locator("figure.chart svg").boundingBox();
    assert.ok(box.width <= 390 && box.width > 250, `the chart fits: ${box.width}`);
    assert.ok(await page.getByLabel("Your question").isVisible());
    await showTurn(turn);
    await screenshot(page, "chat-390-data");
    const reg = await ask(page, REGULATORY);
    await showTurn(reg);
    await screenshot(page, "chat-390-regulatory");
    assert.deepEqual(problems, []);
    await context.close();
  });
});

describe("DER IQ Chat when things go wrong", () => {
  let strict;
  before(async () => {
    // A second server with a tight per-user rate limit and no retrieval (fast to start).
    strict = await startServer({ args: ["--no-retrieval"], env: { DERIQ_RATE_LIMIT_USER_PER_MINUTE: "4" } });
  }, LIMIT);
  after(async () => {
    await strict?.stop();
    if (strict) await writeFile(join(ARTIFACTS, "server-strict.log"), strict.log());
  });

  test("an expired session, a rate limit and a server that is down are explained, and the typed question is kept", LIMIT, async () => {
    // Arriving from the portal with a token in the URL signs in, and the token leaves the address bar.
    const portal = await (await fetch(`${strict.url}/api/der-iq/dev/token`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: "der@red-river-logistics.example" }) })).json();
    const arrival = await openPage(browser, `${strict.url}/#token=${portal.token}`);
    await arrival.page.locator("#composer").waitFor();
    assert.match(await arrival.page.locator("#who").innerText(), /Designated Employer Representative[\s\S]*Red River Logistics/);
    assert.equal(new URL(arrival.page.url()).hash, "");
    await arrival.context.close();

    const { page, context } = await openPage(browser, strict.url);
    // A token that expires at once (the server allows 5 s of clock skew).
    const minted = await fetch(`${strict.url}/api/der-iq/dev/token`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: "company_admin@gulf-coast-energy.example", ttl_seconds: 1 }) });
    const { token } = await minted.json();
    await page.getByLabel("Bearer token").fill(token);
    await page.getByRole("button", { name: "Sign in with this token" }).click();
    await page.locator("#composer").waitFor();
    await page.waitForTimeout(7_000);
    const kept = "How many active employees do we have?";
    await page.getByLabel("Your question").fill(kept);
    await page.getByLabel("Your question").press("Enter");
    await page.locator("#notice", { hasText: "session has expired" }).waitFor();
    assert.ok(await page.locator("#sign-in").isVisible(), "back to sign-in");
    await devSignIn(page, "company_admin@gulf-coast-energy.example");
    assert.equal(await page.getByLabel("Your question").inputValue(), kept, "the question survived signing in again");
    assert.equal(await page.locator("#turns > li.turn").count(), 1, "and so did the conversation so far");

    // The rate limit: 4 requests a minute for this user (signing in used one).
    let limited = null;
    for (let i = 0; i < 6 && !limited; i++) {
      const turn = await ask(page, `${kept}`);
      if ((await turn.locator(".a").getAttribute("data-kind")) === "error") limited = turn;
    }
    assert.ok(limited, "the rate limit was reached");
    assert.match(await limited.locator(".err").innerText(), /Too many questions.*Try again in \d+ s/);
    assert.equal(await page.getByLabel("Your question").inputValue(), kept, "the refused question is back in the box");
    // Until the wait is over the page does not send, and says why.
    const turns = await page.locator("#turns > li.turn").count();
    await page.getByLabel("Your question").press("Enter");
    await page.locator("#notice", { hasText: /try again in \d+ s\. Your question is kept/ }).waitFor();
    assert.equal(await page.locator("#turns > li.turn").count(), turns);
    await screenshot(page, "error-rate-limited");

    await context.close();

    // The server goes away under a signed-in page.
    const gone = await openPage(browser, strict.url);
    await devSignIn(gone.page, "safety_manager@red-river-logistics.example");
    await strict.stop();
    await gone.page.getByLabel("Your question").fill("Headcount by state");
    await gone.page.getByLabel("Your question").press("Enter");
    const down = gone.page.locator("#turns > li.turn").last();
    await down.locator(".err").waitFor();
    assert.match(await down.locator(".err").innerText(), /cannot be reached/);
    assert.equal(await gone.page.getByLabel("Your question").inputValue(), "Headcount by state");
    await screenshot(gone.page, "error-server-down");
    await gone.context.close();
  });
});
