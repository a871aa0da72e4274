// Headless Chromium (Debian's package) driven by playwright-core, and page helpers.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ROOT } from "./server.mjs";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const ARTIFACTS = join(ROOT, "e2e", "artifacts");
mkdirSync(ARTIFACTS, { recursive: true });

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
}

/**
 * A new page at `width` px that records console errors and page errors (a CSP violation
 * shows up as one). Responses the test provokes on purpose (401, 429, ...) are not errors.
 */
export async function openPage(browser, url, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource: the server responded with a status of (401|403|404|422|429)/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(url);
  return { page, context, problems };
}

/** Signs in through the development picker. */
export async function devSignIn(page, email, { mfa = false } = {}) {
  if (mfa) await page.getByLabel(/I have just completed MFA/).check();
  await page.locator(`#dev-users button[data-email="${email}"]`).click();
  await page.locator("#composer").waitFor();
}

/** Asks a question through the composer and waits for its answer card to finish. */
export async function ask(page, question) {
  const before = await page.locator("#turns > li.turn").count();
  await page.getByLabel("Your question").fill(question);
  await page.getByLabel("Your question").press("Enter");
  const turn = page.locator("#turns > li.turn").nth(before);
  await turn.locator(".a:not([aria-busy])").waitFor({ timeout: 60_000 });
  return turn;
}

/** The bearer token the page holds (for checking what it shows against the API). */
export function tokenOf(page) {
  return page.evaluate(() => sessionStorage.getItem("deriq.token"));
}

export async function api(url, path, token, body, headers = {}) {
  const r = await fetch(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

export function screenshot(page, name) {
  return page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/**
 * Records how the conversation changes as an answer streams in: every class change of a
 * step indicator (with the class it had before) and every text the answer is given.
 */
export function watchStream(page) {
  return page.evaluate(() => {
    window.__stream = [];
    new MutationObserver((records) => {
      for (const r of records) {
        const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
        if (r.type === "attributes" && el.matches("li[data-step]")) window.__stream.push({ step: el.dataset.step, before: r.oldValue || "" });
        if (r.type === "childList" && el.matches(".answer-text")) for (const n of r.addedNodes) window.__stream.push({ text: n.textContent });
      }
    }).observe(document.getElementById("turns"), { subtree: true, childList: true, attributes: true, attributeFilter: ["class"], attributeOldValue: true });
  });
}

/** What {@link watchStream} recorded. */
export function streamed(page) {
  return page.evaluate(() => window.__stream);
}

/**
 * Accessibility problems on the page as it is: visible text below the WCAG AA contrast
 * ratio (4.5:1, or 3:1 for large text), form fields without a label, and buttons or links
 * without an accessible name.
 */
export function accessibilityProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const rgba = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const c = [r, g, b].map((v) => {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
    for (const el of document.body.querySelectorAll("*")) {
      if (!visible(el) || el.closest("svg")) continue;
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own) continue;
      const style = getComputedStyle(el);
      const fg = rgba(style.color).slice(0, 3);
      const [l1, l2] = [lum(fg), lum(background(el))].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      const disabled = el.closest("button:disabled");
      if (!disabled && ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} for "${el.textContent.trim().slice(0, 40)}"`);
    }
    for (const f of document.querySelectorAll("input, textarea, select")) {
      if (visible(f) && !(f.labels && f.labels.length) && !f.getAttribute("aria-label")) problems.push(`no label for #${f.id || f.name}`);
    }
    for (const b of document.querySelectorAll("button, a[href]")) {
      if (visible(b) && !(b.getAttribute("aria-label") || b.textContent.trim())) problems.push(`no name for ${b.outerHTML.slice(0, 60)}`);
    }
    return problems;
  });
}
