// Issue 23, point 5: the window end to end at a second, independent OpenID
// provider: Glewlwyd 2.7.5 from Debian (dev/glewlwyd; scripts/test starts it
// with the stack), set up as a company would. The server of this test trusts
// the dev provider and Glewlwyd, which provisions unknown staff just in time.
// The system browser is dev/glewlwyd/browser.js: it signs in at Glewlwyd's
// login app with a password, as a person would. Screenshots in target/e2e/.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Server } from './stack.js';
import { Session, startDriver } from './webdriver.js';
import { appGone, binary, browserSignIns, failShot, profile, root, secret } from './harness.js';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: scripts/test starts Glewlwyd with the stack (COUNTERSIGN_STACK_GLEWLWYD=1)`);
  return v;
};

test('alice signs in at Glewlwyd through the window and out again; sam, new there, waits for access', { timeout: 180_000 }, async (t) => {
  const issuer = env('GLEWLWYD_ISSUER');
  const config = join(tmpdir(), `cs-e2e-glewlwyd-${process.pid}.toml`);
  writeFileSync(config, `[[issuers]]
issuer = "${issuer}"
audience = "${env('GLEWLWYD_AUDIENCE')}"
provider_name = "Glewlwyd"
client_id = "${env('GLEWLWYD_CLIENT_ID')}"
redirect_ports = [${env('GLEWLWYD_REDIRECT_PORTS')}]
jit_provisioning = true
`);
  const server = await Server.start({ COUNTERSIGN_CONFIG: config });
  const alice = env('GLEWLWYD_SUB_ALICE');
  server.staff('add', '--issuer', issuer, '--subject', alice, '--name', 'Alice Laurent', '--email', 'alice@example.test',
    '--role', 'support_agent', '--region', 'EU');
  const browser = join(root, 'dev/glewlwyd/browser.js');
  let driver;
  let session;
  let p;
  t.after(async () => { await session?.quit().catch(() => {}); await driver?.stop(); await appGone(); await server.drop(); });
  try {
    p = profile('glewlwyd-alice', 'alice');
    driver = await startDriver(p.env({ COUNTERSIGN_API_URL: server.url, BROWSER: browser }));
    session = await Session.start(driver.base, binary);
    await session.find('[data-testid=sign-in-1]');
    assert.match(await session.text('[data-testid=sign-in-0]'), /Company sign-in/);
    assert.match(await session.text('[data-testid=sign-in-1]'), /Glewlwyd/);
    await p.shot(session, 'sign-in-two-providers');
    await session.click('[data-testid=sign-in-1]');
    await session.find('[data-testid=home]', { timeout: 60_000 });
    assert.equal(browserSignIns(p), 1, 'signed in once, at Glewlwyd, through the system browser');
    await p.shot(session, 'home');
    assert.ok(secret(`countersign:refresh-token:${issuer}`, alice).length > 20, "the refresh token is in the keyring under Glewlwyd's issuer");
    // Glewlwyd refuses to revoke for public clients: signed out all the same.
    await session.click('[data-testid=account-menu]');
    await session.click('[data-testid=sign-out]');
    await session.click('[data-testid=sign-out-confirm]');
    await session.find('[data-testid=sign-in-1]');
    assert.equal(secret(`countersign:refresh-token:${issuer}`, alice), '');
    assert.equal(secret(`countersign:cache-key:${issuer}`, alice), '');
    assert.deepEqual(existsSync(p.dataDir) ? readdirSync(p.dataDir) : [], [], 'no cache file or session note left');
    assert.match(driver.output, /revocation refused/, "the refusal is in the app's log");
    await session.quit();
    await driver.stop();
    await appGone();

    // Sam has no account at Glewlwyd: his first sign-in makes one, waiting for access.
    p = profile('glewlwyd-sam', 'sam');
    driver = await startDriver(p.env({ COUNTERSIGN_API_URL: server.url, BROWSER: browser }));
    session = await Session.start(driver.base, binary);
    await session.click('[data-testid=sign-in-1]');
    await session.find('[data-testid=access-pending]', { timeout: 60_000 });
    assert.match(await session.text('[data-testid=access-pending]'), /Your account is waiting for access/);
    await p.shot(session, 'access-pending');
    assert.equal(secret(`countersign:refresh-token:${issuer}`, env('GLEWLWYD_SUB_SAM')), '', 'nothing of the sign-in kept');
    assert.match(server.staff('list'), /waiting for access/, 'an account waits in the review');
  } catch (e) { await failShot(session, p, e); }
});
