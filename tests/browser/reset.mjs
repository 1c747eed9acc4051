// Drives headless Debian chromium through the reset page, as a person would: keyboard only.
// Started by tests/tests/api/reset_page.rs, which serves the functions and checks the store.
//
//   node tests/browser/reset.mjs '<json>'
//
// <json>: {"flow": "link" | "code", "url": page or link URL, "email": for the code flow,
//          "code": for the code flow, "mismatch": a confirmation that differs,
//          "password": the new password, "second_password": tried on the second visit,
//          "artifacts": directory for screenshots, "phone": true for a phone-sized screen,
//          "lang": the browser's language (chromium --lang and Accept-Language), e.g. "fr",
//          "weak": a password the server refuses, tried first (its field error shows)}
//
// Steps: open the page (its language, title and labels are reported); with "weak", submit
// it (the server's field error shows under the password); submit a mismatched
// confirmation (the field error shows); submit
// the new password (success shows); open the same link or code again and submit (the
// expired/used state shows). Prints one JSON object with what the page said; exits 1 with
// the reason and a screenshot on the first thing that is not as expected.

import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CHROMIUM = '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 20_000;

const args = JSON.parse(process.argv[2] ?? '{}');
for (const name of ['flow', 'url', 'mismatch', 'password', 'second_password', 'artifacts']) {
  if (!args[name]) fail(`argument ${name} is missing`);
}
if (args.flow === 'code' && !(args.email && args.code)) fail('the code flow needs email and code');
mkdirSync(args.artifacts, { recursive: true });

const report = { flow: args.flow, seen: {}, screenshots: [], requests: [] };
const problems = [];
const userDataDir = mkdtempSync(path.join(tmpdir(), 'resetkit-chromium-'));
let context;
let page;

function fail(message) {
  console.error(`browser test failed: ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

function expect(condition, message) {
  if (!condition) fail(message);
}

async function shot(name) {
  const tag = args.lang ? `${args.flow}-${args.lang}` : args.flow;
  const file = path.join(args.artifacts, `${tag}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  report.screenshots.push(file);
}

async function visible(selector) {
  await page.locator(selector).waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  return (await page.locator(selector).innerText()).trim();
}

async function focused() {
  return page.evaluate(() => document.activeElement && document.activeElement.id);
}

/// Opens the page in a fresh tab and checks what every visit must show.
async function open() {
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('console', (m) => {
    const text = m.text();
    if (/Content Security Policy|Trusted Type|Refused to/i.test(text)) problems.push(`console: ${text}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => report.requests.push({ method: r.method(), url: r.url(), referer: r.headers().referer ?? null }));
  await page.goto(args.url, { waitUntil: 'load' });
  await visible('#reset-form');
  expect(!page.url().includes('#'), `the fragment is still in the address bar: ${page.url()}`);
  if (args.flow === 'link') {
    expect(!page.url().includes('TemporaryPassword'), 'the secret is still in the address bar');
  }
  const styled = await page.evaluate(() => {
    const sheet = document.styleSheets[0];
    const button = document.getElementById('submit');
    return Boolean(sheet && sheet.cssRules.length > 0) && getComputedStyle(button).width === getComputedStyle(button.parentElement).width;
  });
  expect(styled, 'the style sheet did not apply');
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  expect(fits, 'the page scrolls sideways');
  const first = args.flow === 'code' ? 'email' : 'password';
  expect((await focused()) === first, `focus starts on #${first}, not on #${await focused()}`);
  report.seen.page = await page.evaluate(() => {
    const label = (id) => document.querySelector(`label[for="${id}"]`).textContent.trim();
    return {
      lang: document.documentElement.lang,
      title: document.title,
      intro: document.getElementById('intro').textContent.trim(),
      labels: { email: label('email'), code: label('code'), password: label('password'), confirm: label('password-confirm') },
      submit: document.getElementById('submit').textContent.trim(),
      code_autocomplete: document.getElementById('code').getAttribute('autocomplete'),
    };
  });
}

/// Types into the focused field and moves on with Tab, as a keyboard user does.
async function typeAndTab(text) {
  await page.keyboard.type(text);
  await page.keyboard.press('Tab');
}

async function fillForm(password, confirmation) {
  if (args.flow === 'code') {
    await typeAndTab(args.email);
    await typeAndTab(args.code);
  }
  expect((await focused()) === 'password', 'Tab reaches the new password field');
  await typeAndTab(password);
  expect((await focused()) === 'password-confirm', 'Tab reaches the confirmation field');
  await page.keyboard.type(confirmation);
}

try {
  const phone = Boolean(args.phone);
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      ...(args.lang ? [`--lang=${args.lang}`, `--accept-lang=${args.lang}`] : []),
    ],
    ...(args.lang ? { locale: args.lang } : {}),
    viewport: phone ? { width: 390, height: 780 } : { width: 1000, height: 760 },
    deviceScaleFactor: phone ? 2 : 1,
    isMobile: phone,
    hasTouch: phone,
    timeout: 60_000,
  });

  // 0. A password the server refuses: its field error, in the page's language.
  if (args.weak) {
    await open();
    await fillForm(args.weak, args.weak);
    await page.keyboard.press('Enter');
    report.seen.password_error = await visible('#password-error');
    expect((await focused()) === 'password', 'focus moves to the password in error');
    await shot('password-error');
    await page.close();
  }

  // 1. A mismatched confirmation: the server's field error shows under the confirmation.
  await open();
  await fillForm(args.password, args.mismatch);
  await page.keyboard.press('Enter');
  report.seen.field_error = await visible('#password-confirm-error');
  expect(await page.locator('#password-confirm').getAttribute('aria-invalid') === 'true', 'the confirmation is marked invalid');
  expect((await focused()) === 'password-confirm', 'focus moves to the field in error');
  expect(await page.locator('#success').isHidden(), 'no success after an error');
  await shot('field-error');

  // 2. The right confirmation: success.
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type(args.password);
  await page.keyboard.press('Enter');
  report.seen.success = await visible('#success');
  expect(await page.locator('#reset-form').isHidden(), 'the form is gone after success');
  await shot('success');
  await page.close();

  // 3. The same link or code again: spent.
  await open();
  await fillForm(args.second_password, args.second_password);
  await page.keyboard.press('Enter');
  report.seen.rejected = await visible('#rejected');
  if (args.flow === 'link') {
    expect(await page.locator('#reset-form').isHidden(), 'a spent link leaves no form');
  }
  await shot('expired');
  await page.close();

  expect(problems.length === 0, problems.join('; '));
  console.log(JSON.stringify(report));
} catch (e) {
  process.exitCode = 1;
  if (!String(e.message).startsWith('browser test failed')) console.error(`browser test failed: ${e.stack || e}`);
  if (problems.length) console.error(`also: ${problems.join('; ')}`);
  if (page && !page.isClosed()) {
    await shot('failure').catch(() => {});
  }
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
