#!/usr/bin/env node
// A scripted "system browser" for end-to-end tests: the app opens the sign-in
// page with `xdg-open <url>`, which runs `$BROWSER <url>` on a machine without
// a desktop; this signs in at the dev provider exactly as a person would (the
// login form with a password, then consent) and lets the redirect reach the
// app's loopback listener. Never the app's own code: it only plays the user.
//   COUNTERSIGN_E2E_USER   who signs in (default alice; password <user>-pw)
//   COUNTERSIGN_E2E_BROWSER_LOG  a file to append what happened to (optional)
import { appendFileSync } from 'node:fs';
import { Browser } from './harness.js';

const url = process.argv[2];
const user = process.env.COUNTERSIGN_E2E_USER || 'alice';
const log = (line) => {
  if (process.env.COUNTERSIGN_E2E_BROWSER_LOG) appendFileSync(process.env.COUNTERSIGN_E2E_BROWSER_LOG, `${new Date().toISOString()} ${line}\n`);
};

try {
  if (!url) throw new Error('usage: browser.js <authorization URL>');
  const browser = new Browser();
  const login = await browser.navigate(url);
  if (!login.text.includes('name="password"')) throw new Error(`no login form at ${login.url} (${login.status})`);
  const consent = await browser.navigate(login.url, { method: 'POST', form: { prompt: 'login', login: user, password: `${user}-pw` } });
  if (!consent.text.includes('value="consent"')) throw new Error(`no consent form after login (${consent.status})`);
  const done = await browser.navigate(consent.url, { method: 'POST', form: { prompt: 'consent' } });
  log(`signed in as ${user}: ${done.status} at ${new URL(done.url).origin}${new URL(done.url).pathname}`);
} catch (e) {
  log(`failed: ${e.message}`);
  process.exitCode = 1;
}
