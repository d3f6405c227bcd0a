// Issue 18, point 9: the real debug window under Xvfb, driven through
// WebKitWebDriver, against the real stack (dev identity provider, PostgreSQL,
// a countersign-server of its own) with the real keyring (scripts/with-keyring)
// and a scripted system browser ($BROWSER = dev/idp/browser.js) that signs in
// with a password. Every step saves a screenshot under target/e2e/.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Server } from './stack.js';
import { Session, startDriver } from './webdriver.js';
import {
  CTRL, ENTER, ESC, appGone, binary, browserSignIns, bytesUnder, failShot, instanceNameOwned, pageText, paletteClosed,
  profile, secret, signIn, sleep,
} from './harness.js';

test('alice: server URL, sign-in, first sync, Ctrl+K acme, reveal, restart, access revoked, sign-out', { timeout: 240_000 }, async (t) => {
  const server = await Server.start();
  const p = profile('alice');
  const driver = await startDriver(p.env());
  let session = await Session.start(driver.base, binary);
  // In this order: the app must be gone before the next test's launch, or
  // the single-instance plugin hands that launch over to it.
  t.after(async () => { await session.quit().catch(() => {}); await driver.stop(); await appGone(); await server.drop(); });
  try {
  // No configuration: the first screen asks for the server.
  await session.find('[data-testid=server-url]');
  await signIn(session, p, server);
  assert.equal(browserSignIns(p), 1, 'signed in once, through the (scripted) system browser');
  await p.shot(session, 'home');
  const issuer = JSON.parse(execFileSync('curl', ['-s', `${server.url}/v1/client-config`]).toString()).providers[0].issuer;

  // Ctrl+K anywhere, type, Enter opens acme.
  await session.keys([CTRL, 'k']);
  await session.type('[data-testid=search-input]', 'acme');
  await session.find('[data-testid=search-result][data-record-type=org]');
  await p.shot(session, 'search');
  await session.keys([ENTER]);
  await session.find('[data-testid=org-header]');
  await paletteClosed(session);
  assert.match(await session.text('[data-testid=org-header]'), /Acme Corporation/);
  await p.shot(session, 'org-detail');

  // A user, and the reveal of their e-mail with a reason.
  await session.click('[data-testid=tab-users]');
  await session.click('[data-testid=row] td');
  await session.clickUntil('[data-testid=record-detail] [data-testid=reveal-button][data-field=email]', '[data-testid=reveal-reason]');
  await session.type('[data-testid=reveal-reason]', 'Customer called to confirm the address');
  await session.click('[data-testid=reveal-submit]');
  const value = (await session.text('[data-testid=revealed-value]')).trim();
  assert.match(value, /^[^*•\s]+@[^*•\s]+$/, `a revealed e-mail, not a mask: ${value}`);
  await p.shot(session, 'reveal-dialog');
  await session.click('[data-testid=reveal-close]');
  await session.until('the dialog to close', 'return !document.querySelector("[data-testid=revealed-value]")');
  await session.keys([ESC]);
  await session.until('the user sheet to close', 'return !document.querySelector("[data-testid=record-detail]")');
  assert.ok(!(await session.exec(pageText)).includes(value), 'closing the dialog forgets the value');

  // Canary: the value is nowhere but where it was shown.
  const storage = await session.exec('return JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, url: location.href })');
  assert.ok(!storage.includes(value), 'not in web storage or the URL');
  const idb = await session.execAsync('const done = arguments[arguments.length - 1]; indexedDB.databases().then((d) => done(JSON.stringify(d)), (e) => done(String(e)))');
  assert.equal(idb, '[]', 'the app keeps nothing in IndexedDB');
  assert.ok(!bytesUnder(p.dataDir).includes(Buffer.from(value)), 'not in the cache files');
  assert.ok(!driver.output.includes(value), "not in the app's log");
  assert.ok(!readFileSync(p.trace, 'utf8').includes(value), 'not in any other command result or channel message');

  // Settings, in light and dark.
  await session.click('[data-testid=account-menu]');
  await session.click('[data-testid=menu-settings]');
  await session.find('[data-testid=settings]');
  await p.shot(session, 'settings');
  await session.click('[data-testid=theme-dark]');
  await session.until('the dark theme', 'return document.documentElement.classList.contains("dark")');
  await p.shot(session, 'settings-dark');
  await session.click('[data-testid=theme-light]');

  // Quit and start again: still signed in, no browser.
  await session.quit();
  // Else the single-instance plugin would hand the new launch over to the old process.
  await appGone();
  session = await Session.start(driver.base, binary);
  await session.find('[data-testid=home]', { timeout: 30_000 });
  assert.equal(browserSignIns(p), 1, 'resumed from the keyring without the browser');
  await p.shot(session, 'resumed');

  // A second launch hands over to the running app and exits before it opens anything.
  assert.ok(instanceNameOwned(), 'the running app holds its single-instance name');
  const second = spawn(binary, [], { env: p.env(), stdio: 'ignore' });
  const code = await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error('a second launch kept running beside the first')), 20_000);
    second.once('exit', (c) => { clearTimeout(timer); done(c); });
  });
  assert.equal(code, 0, 'the second launch exits cleanly');
  await session.find('[data-testid=home]');

  // sid revokes alice's role: her next sync purges, and the app says so.
  server.staff('revoke', 'staff-alice', 'support_agent');
  await session.click('[data-testid=sync-now]');
  await session.until('the access-changed notice', `return document.body.innerText.includes("Your access changed")`);
  await p.shot(session, 'access-changed');

  // Sign out (confirmed): keyring entries and cache files are gone.
  const refreshToken = secret(`countersign:refresh-token:${issuer}`, 'staff-alice');
  const cacheKey = secret(`countersign:cache-key:${issuer}`, 'staff-alice');
  assert.ok(refreshToken.length > 20 && cacheKey.length === 64, 'the refresh token and the cache key are in the keyring');
  await session.click('[data-testid=account-menu]');
  await session.click('[data-testid=sign-out]');
  await p.shot(session, 'sign-out-confirm');
  await session.click('[data-testid=sign-out-confirm]');
  await session.find('[data-testid=sign-in-0]');
  await p.shot(session, 'signed-out');
  assert.equal(secret(`countersign:refresh-token:${issuer}`, 'staff-alice'), '');
  assert.equal(secret(`countersign:cache-key:${issuer}`, 'staff-alice'), '');
  assert.deepEqual(existsSync(p.dataDir) ? readdirSync(p.dataDir) : [], [], 'no cache file or session note left');
  await session.quit();

  // Point 1: nothing token- or key-shaped ever reached the webview.
  const trace = readFileSync(p.trace, 'utf8');
  assert.ok(trace.split('\n').length > 20, 'the trace saw the commands');
  assert.doesNotMatch(trace, /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*/, 'no JWT in any command result or event');
  assert.ok(!trace.includes(refreshToken) && !trace.includes(cacheKey), 'neither the refresh token nor the cache key');
  assert.ok(!driver.output.includes(refreshToken) && !driver.output.includes(cacheKey), "nor in the app's log");
  assert.doesNotMatch(trace, /\b[0-9a-f]{64}\b/, 'no 256-bit hex key');
  } catch (e) { await failShot(session, p, e); }
});

test('offline: the API goes away mid-session, cached reads go on, actions are disabled, it comes back', { timeout: 180_000 }, async (t) => {
  const server = await Server.start();
  const p = profile('offline');
  const driver = await startDriver(p.env());
  const session = await Session.start(driver.base, binary);
  t.after(async () => { await session.quit().catch(() => {}); await driver.stop(); await appGone(); await server.drop(); });
  try {
  await session.find('[data-testid=server-url]');
  await signIn(session, p, server);

  await server.stop();
  await session.click('[data-testid=sync-now]');
  await session.find('[data-testid=offline-banner]');
  assert.match(await session.text('[data-testid=offline-banner]'), /Offline/);
  // Cached reads still work: find and open acme.
  await session.keys([CTRL, 'k']);
  await session.type('[data-testid=search-input]', 'acme');
  await session.find('[data-testid=search-result][data-record-type=org]');
  await session.keys([ENTER]);
  await session.find('[data-testid=org-header]');
  await paletteClosed(session);
  await session.click('[data-testid=tab-users]');
  await session.click('[data-testid=row] td');
  await session.find('[data-testid=record-detail] [data-testid=reveal-button][data-field=email]');
  await p.shot(session, 'offline');
  assert.equal(
    await session.exec('const b = document.querySelector("[data-testid=record-detail] [data-testid=reveal-button][data-field=email]"); return b.disabled || b.getAttribute("aria-disabled") === "true"'),
    true,
    'actions are disabled while offline',
  );
  await session.click('[data-testid=record-detail] [data-testid=reveal-button][data-field=email]');
  await sleep(500);
  assert.equal(await session.exec('return !!document.querySelector("[data-testid=reveal-reason]")'), false, 'and clicking one opens nothing');
  await session.keys([ESC]);

  await server.restart();
  await session.until('the banner to go', 'return !document.querySelector("[data-testid=offline-banner]")', [], 30_000);
  await p.shot(session, 'back-online');
  } catch (e) { await failShot(session, p, e); }
});
