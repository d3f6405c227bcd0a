// Issue 21, point 7: the back office's flows through the real window, several
// users at once, each app on a D-Bus session and keyring of its own (as on
// colleagues' computers), against a countersign-server of the test's own.
// Screenshots of every step go to target/e2e/<user>/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Server } from './stack.js';
import { Session, startDriver } from './webdriver.js';
import { CTRL, ENTER, ESC, appGone, binary, failShot, paletteClosed, profile, signIn, sleep } from './harness.js';

/** One user's running app: its profile, its driver (own bus), its window. */
async function open(server, name, user, extraEnv = {}) {
  const p = profile(name, user);
  const driver = await startDriver(p.env(extraEnv), { ownBus: true });
  const session = await Session.start(driver.base, binary);
  await session.find('[data-testid=server-url]');
  await signIn(session, p, server);
  return { p, driver, session, user };
}

async function close(app) {
  if (!app) return;
  await app.session.quit().catch(() => {});
  await app.driver.stop().catch(() => {});
}

/** A command called from the page, as a script could; resolves to { ok } or { error } (the ErrorPayload). */
function invoke(session, cmd, args) {
  return session.execAsync(
    `const done = arguments[arguments.length - 1];
     window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then((ok) => done({ ok }), (error) => done({ error }));`,
    [cmd, args],
  );
}

/** `g` then a letter: the app's go-to shortcuts. */
async function go(session, letter) {
  await session.exec('document.activeElement?.blur()');
  await session.keys(['g']);
  await session.keys([letter]);
}

async function openAcme(session) {
  await session.keys([CTRL, 'k']);
  await session.type('[data-testid=search-input]', 'acme');
  await session.find('[data-testid=search-result][data-record-type=org]');
  await session.keys([ENTER]);
  await session.find('[data-testid=org-header]');
  await paletteClosed(session);
}

/** Clicks the row of the visible table whose text matches `pattern`; returns its record id. */
async function clickRow(session, pattern, what) {
  const id = await session.until(what, `
    const row = [...document.querySelectorAll('[data-testid=row]')].find((r) => new RegExp(arguments[0]).test(r.innerText));
    return row && row.dataset.recordId;`, [pattern]);
  await session.click(`[data-testid=row][data-record-id="${id}"] td:nth-child(2)`);
  return id;
}

const text = (session, css) => session.exec('return document.querySelector(arguments[0])?.innerText ?? ""', [css]);

test('support: alice in a read session, refused a write; a write session waits for sam; quit ends it; sam flags it; ava exports its log', { timeout: 420_000 }, async (t) => {
  const server = await Server.start();
  const saveTo = join(mkdtempSync(join(tmpdir(), 'cs-e2e-export-')), 'alice-session.csv');
  let alice; let sam; let ava;
  t.after(async () => { await close(alice); await close(sam); await close(ava); await appGone(); await server.drop(); });
  alice = await open(server, 'support-alice', 'alice');
  let current = alice;
  try {
    // (a) From an acme user's page: a read session.
    await openAcme(alice.session);
    await alice.session.click('[data-testid=tab-users]');
    const subject = await clickRow(alice.session, 'Member', 'a member of acme');
    await alice.session.clickUntil('[data-testid=start-support]', '[data-testid=support-reason]');
    await alice.session.type('[data-testid=support-reason]', 'Customer cannot find last month\'s invoice');
    await alice.session.type('[data-testid=support-ticket]', 'SUP-4711');
    await alice.p.shot(alice.session, 'start-support-dialog');
    await alice.session.click('[data-testid=support-start]');
    await alice.session.find('[data-testid=support-banner]');
    await alice.session.find('[data-testid=customer-view-scope]');
    const banner = await text(alice.session, '[data-testid=support-banner]');
    assert.match(banner, /Acting as .+ at Acme Corporation — read — \d\d:\d\d left/i, banner);
    const countdown = () => text(alice.session, '[data-testid=support-countdown]');
    const first = await countdown();
    assert.match(first, /^(15:00|14:5\d)$/, `15 minutes from the server's clock: ${first}`);
    await sleep(2_200);
    assert.notEqual(await countdown(), first, 'the countdown runs');
    assert.match(await alice.session.exec('return document.title'), /^Support session — /);
    await alice.p.shot(alice.session, 'support-read-customer-view');

    // A write, forced from the page, is refused by the server in a read session; so is a reveal.
    const write = await invoke(alice.session, 'customer_update_user', { user_id: subject, update: { name: null, phone: '+49 30 1234567' } });
    assert.equal(write.error?.code, 'scope_exceeded', JSON.stringify(write));
    const reveal = await invoke(alice.session, 'reveal', { record_type: 'user', record_id: subject, field: 'email', reason: 'Checking the address on file' });
    assert.equal(reveal.error?.code, 'not_while_impersonating', JSON.stringify(reveal));
    // The window offers neither: no edit in read scope, no Reveal anywhere.
    assert.equal(await alice.session.exec('return document.querySelectorAll("[data-testid=customer-edit-user], [data-testid=reveal-button]").length'), 0);

    await alice.session.clickUntil('[data-testid=support-end]', '[data-testid=support-end-confirm]');
    await alice.p.shot(alice.session, 'support-end-confirm');
    await alice.session.click('[data-testid=support-end-confirm]');
    await alice.session.until('the banner to go', 'return !document.querySelector("[data-testid=support-banner]")');

    // A write session waits for a supervisor.
    await openAcme(alice.session);
    await alice.session.click('[data-testid=tab-users]');
    await alice.session.click(`[data-testid=row][data-record-id="${subject}"] td:nth-child(2)`);
    await alice.session.clickUntil('[data-testid=start-support]', '[data-testid=support-reason]');
    await alice.session.type('[data-testid=support-reason]', 'Customer cannot change their phone number');
    await alice.session.type('[data-testid=support-ticket]', 'SUP-2210');
    await alice.session.click('[data-testid=support-scope-write]');
    await alice.session.find('[data-testid=support-needs-approval]');
    await alice.session.click('[data-testid=support-start]');
    await alice.session.find('[data-testid=support-waiting]');
    await alice.p.shot(alice.session, 'support-waiting');

    // sam approves it in his own app.
    current = sam = await open(server, 'support-sam', 'sam');
    await go(sam.session, 'r');
    await sam.session.find('[data-testid=sessions]');
    await clickRow(sam.session, 'Alice', "alice's waiting session");
    await sam.session.find('[data-testid=session-approve]');
    await sam.p.shot(sam.session, 'session-to-approve');
    await sam.session.click('[data-testid=session-approve]');
    await sam.session.until('the answer to land', 'return !document.querySelector("[data-testid=answer-panel]")');

    // alice's app sees it start, with its whole 15 minutes from the approval.
    current = alice;
    await alice.session.find('[data-testid=support-banner]', { timeout: 20_000 });
    assert.match(await text(alice.session, '[data-testid=support-banner]'), /— write —/i);
    assert.match(await countdown(), /^(15:00|14:5\d)$/);
    // One customer action on the subject's behalf: a new phone number.
    await alice.session.clickUntil('[data-testid=customer-edit-user]', '[data-testid=customer-edit-phone]');
    await alice.session.type('[data-testid=customer-edit-phone]', '+49 30 1234567');
    await alice.p.shot(alice.session, 'support-customer-edit');
    await alice.session.click('[data-testid=customer-edit-save]');
    await alice.session.until('the change to be saved', 'return !document.querySelector("[data-testid=customer-edit-dialog]")');
    await alice.p.shot(alice.session, 'support-write-customer-view');

    // Quit: the session ends on the server before the app exits.
    await alice.session.click('[data-testid=account-menu]');
    await alice.session.click('[data-testid=menu-quit]');
    const sessionId = await (async () => {
      for (let i = 0; i < 100; i += 1) {
        const row = execFileSync('psql', [server.databaseUrl, '-Atc',
          "SELECT id || ' ' || status FROM impersonation_sessions WHERE scope = 'write' ORDER BY requested_at DESC LIMIT 1"]).toString().trim();
        const [id, status] = row.split(' ');
        if (status === 'ended') return id;
        await sleep(100);
      }
      throw new Error('the write session did not end when alice quit');
    })();
    await close(alice);
    alice = null;

    // (c) sam reviews it: its timeline, then flags it with a note.
    current = sam;
    await sam.session.keys([ESC]);
    await sam.session.until('the sheet to close', 'return !document.querySelector("[data-testid=session-detail]")');
    await sam.session.click('[data-testid=list-review]');
    // The queue refreshes by itself (every 15 s): the session alice's quit ended comes in.
    await sam.session.find(`[data-testid=row][data-record-id="${sessionId}"]`, { timeout: 30_000 });
    await sam.session.click(`[data-testid=row][data-record-id="${sessionId}"] td:nth-child(2)`);
    const events = await sam.session.until('the timeline', 'return document.querySelectorAll("[data-testid=timeline-event]").length');
    assert.ok(events >= 2, `the session's events: ${events}`);
    await sam.session.click('[data-testid=timeline-event] button');
    await sam.session.find('[data-testid=timeline-detail]');
    await sam.session.type('[data-testid=review-note]', 'Write scope for a phone number: needs the customer\'s call on record');
    await sam.p.shot(sam.session, 'session-review');
    await sam.session.click('[data-testid=review-flag]');
    await sam.session.until('the flag', 'return /Flagged/.test(document.querySelector("[data-testid=session-detail]").innerText)');
    await sam.p.shot(sam.session, 'session-flagged');
    await close(sam);
    sam = null;

    // (d) ava filters the log to alice's session and exports it as CSV.
    current = ava = await open(server, 'audit-ava', 'ava', { COUNTERSIGN_TEST_SAVE_PATH: saveTo });
    await go(ava.session, 'l');
    await ava.session.find('[data-testid=audit-session]');
    await ava.session.type('[data-testid=audit-session]', `${sessionId}${ENTER}`);
    await ava.session.until('the filtered log', 'return location.href.includes(arguments[0]) && document.querySelectorAll("[data-testid=row]").length > 0', [sessionId]);
    await ava.p.shot(ava.session, 'audit-filtered');
    const listed = await invoke(ava.session, 'audit_search', { filter: { impersonation_id: sessionId, limit: 200 } });
    const ids = listed.ok.items.map((e) => e.id).sort();
    assert.ok(ids.length >= 2, `the session's events: ${ids.length}`);
    await ava.session.click('[data-testid=audit-export]');
    await ava.session.click('[data-testid=export-csv]');
    await ava.p.shot(ava.session, 'audit-export-dialog');
    await ava.session.click('[data-testid=audit-export-start]');
    await ava.session.until('the export to finish', 'return /Exported/.test(document.body.innerText)', [], 30_000);
    await ava.p.shot(ava.session, 'audit-exported');
    assert.ok(existsSync(saveTo), 'the file is on disk');
    const lines = readFileSync(saveTo, 'utf8').trim().split('\n');
    const header = lines[0].split(',');
    const idAt = header.indexOf('id');
    assert.ok(idAt >= 0, `a header with the event id: ${lines[0]}`);
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[idAt]).sort(), ids, 'exactly the filtered events');

    // Opening a timeline is itself audited: sam's opening is in the log.
    await ava.session.exec('document.activeElement?.blur()');
    const opened = await invoke(ava.session, 'audit_search', { filter: { action: 'impersonation.timeline', target_id: sessionId } });
    assert.ok(opened.ok.items.some((e) => e.actor.subject === 'staff-sam'), JSON.stringify(opened));
  } catch (e) { await failShot(current.session, current.p, e); }
});

test('support: closing the window ends the session on the server first', { timeout: 180_000 }, async (t) => {
  const server = await Server.start();
  let alice;
  t.after(async () => { await close(alice); await appGone(); await server.drop(); });
  alice = await open(server, 'support-close', 'alice');
  try {
    await openAcme(alice.session);
    await alice.session.click('[data-testid=tab-users]');
    await clickRow(alice.session, 'Member', 'a member of acme');
    await alice.session.clickUntil('[data-testid=start-support]', '[data-testid=support-reason]');
    await alice.session.type('[data-testid=support-reason]', 'Customer cannot find last month\'s invoice');
    await alice.session.type('[data-testid=support-ticket]', 'SUP-4712');
    await alice.session.click('[data-testid=support-start]');
    await alice.session.find('[data-testid=support-banner]');
    const status = () => execFileSync('psql', [server.databaseUrl, '-Atc',
      'SELECT status FROM impersonation_sessions ORDER BY requested_at DESC LIMIT 1']).toString().trim();
    assert.equal(status(), 'active');
    // The window's close button, as a window manager sends it (WM_DELETE_WINDOW).
    const pid = execFileSync('pgrep', ['-n', '-f', '-x', binary]).toString().trim();
    execFileSync(join(dirname(fileURLToPath(import.meta.url)), 'close-window.py'), [pid], { stdio: 'inherit' });
    for (let i = 0; i < 100 && status() !== 'ended'; i += 1) await sleep(100);
    assert.equal(status(), 'ended', 'closing the window ended the session on the server');
  } catch (e) { await failShot(alice.session, alice.p, e); }
});

test('approvals: carl requests the largest acme refund, sees why not him; ana and cora approve; executed for all three; carl is notified', { timeout: 420_000 }, async (t) => {
  const server = await Server.start();
  let carl; let ana; let cora;
  t.after(async () => { await close(carl); await close(ana); await close(cora); await appGone(); await server.drop(); });
  carl = await open(server, 'approvals-carl', 'carl');
  let current = carl;
  try {
    await openAcme(carl.session);
    const orgId = await carl.session.exec('return /customers\\/([0-9a-f-]{36})/.exec(location.href)[1]');
    const answer = await invoke(carl.session, 'org_invoices', { org_id: orgId });
    const invoices = answer.ok;
    assert.ok(invoices, `acme's invoices (${orgId}): ${JSON.stringify(answer)}`);
    const invoice = invoices.filter((i) => i.amount.currency === 'EUR').sort((a, b) => b.amount.amount_minor - a.amount.amount_minor)[0];
    assert.ok(invoice.amount.amount_minor > 1_000_000, `a refund that needs two approvers: ${JSON.stringify(invoice.amount)}`);
    await carl.session.click('[data-testid=tab-invoices]');
    await carl.session.type('[data-testid=table-filter]', invoice.number);
    await carl.session.click(`[data-testid=row][data-record-id="${invoice.id}"] td:nth-child(2)`);
    await carl.session.clickUntil('[data-testid=request-refund]', '[data-testid=request-amount]');
    await carl.session.type('[data-testid=request-amount]', (invoice.amount.amount_minor / 100).toFixed(2));
    await carl.session.type('[data-testid=request-reason]', 'Contract terminated: refund of the prepayment');
    await carl.p.shot(carl.session, 'request-refund');
    await carl.session.click('[data-testid=request-submit]');
    await carl.session.until('the request to be made', 'return !document.querySelector("[data-testid=request-dialog]")');
    await carl.session.keys([ESC]);
    await go(carl.session, 'a');
    await carl.session.click('[data-testid=list-requested]');
    const approvalId = await clickRow(carl.session, 'Refund', 'his refund request');
    await carl.session.find('[data-testid=why-not-me]');
    assert.match(await text(carl.session, '[data-testid=why-not-me]'), /own request/i);
    await carl.p.shot(carl.session, 'why-not-me');
    await carl.session.keys([ESC]);

    const approve = async (who) => {
      const app = await open(server, `approvals-${who}`, who);
      current = app;
      await go(app.session, 'a');
      await app.session.click(`[data-testid=row][data-record-id="${approvalId}"] td:nth-child(2)`);
      await app.session.type('[data-testid=decision-comment]', `Checked against the contract (${who})`);
      await app.p.shot(app.session, 'decide');
      await app.session.click('[data-testid=approve]');
      await app.session.until('the decision to land', 'return !document.querySelector("[data-testid=decide-panel]")');
      return app;
    };
    ana = await approve('ana');
    cora = await approve('cora');
    await cora.session.until('executed for cora', 'return /Executed/.test(document.querySelector("[data-testid=approval-detail]").innerText)');
    await cora.p.shot(cora.session, 'executed');
    current = ana;
    await ana.session.keys([ESC]);
    await ana.session.click('[data-testid=list-history]');
    // The inbox refreshes by itself (every 15 s): cora's decision executed it.
    await ana.session.find(`[data-testid=row][data-record-id="${approvalId}"]`, { timeout: 30_000 });
    await ana.session.click(`[data-testid=row][data-record-id="${approvalId}"] td:nth-child(2)`);
    await ana.session.until('executed for ana', 'return /Executed/.test(document.querySelector("[data-testid=approval-detail]").innerText)');

    // carl's app, open all along: notified, and the request shows executed.
    current = carl;
    await carl.session.until('a notification for carl', 'return /[1-9]/.test(document.querySelector("[data-testid=notifications-bell]")?.innerText ?? "")', [], 60_000);
    await carl.session.click('[data-testid=notifications-bell]');
    await carl.session.find('[data-testid=notification]');
    await carl.p.shot(carl.session, 'notified');
    await carl.session.keys([ESC]);
    await carl.session.click('[data-testid=list-history]');
    await carl.session.find(`[data-testid=row][data-record-id="${approvalId}"]`, { timeout: 30_000 });
    await carl.session.click(`[data-testid=row][data-record-id="${approvalId}"] td:nth-child(2)`);
    await carl.session.until('executed for carl', 'return /Executed/.test(document.querySelector("[data-testid=approval-detail]").innerText)');
    await carl.p.shot(carl.session, 'executed');
  } catch (e) { await failShot(current.session, current.p, e); }
});

test('staff: sid deactivates bob, and bob\'s running app is signed out at its next request', { timeout: 300_000 }, async (t) => {
  const server = await Server.start();
  let bob; let sid;
  t.after(async () => { await close(bob); await close(sid); await appGone(); await server.drop(); });
  bob = await open(server, 'staff-bob', 'bob');
  let current = bob;
  try {
    current = sid = await open(server, 'staff-sid', 'sid');
    await go(sid.session, 't');
    await sid.session.find('[data-testid=staff]');
    await clickRow(sid.session, 'Bob', "bob's account");
    await sid.session.clickUntil('[data-testid=deactivate]', '[data-testid=deactivate-reason]');
    await sid.session.type('[data-testid=deactivate-reason]', 'INC-2291: laptop reported stolen');
    await sid.p.shot(sid.session, 'deactivate');
    await sid.session.click('[data-testid=deactivate-confirm]');
    await sid.session.find('[data-testid=deactivated-note]');
    await sid.p.shot(sid.session, 'deactivated');

    current = bob;
    await bob.session.click('[data-testid=sync-now]');
    await bob.session.find('[data-testid=sign-in-0]', { timeout: 30_000 });
    assert.match(await bob.session.exec('return document.body.innerText'), /disabled/i);
    await bob.p.shot(bob.session, 'signed-out-disabled');
  } catch (e) { await failShot(current.session, current.p, e); }
});
