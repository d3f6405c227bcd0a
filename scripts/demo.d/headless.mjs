// scripts/demo without a display: the real window under Xvfb, driven through
// WebKitWebDriver, signs alice in through the scripted system browser
// (dev/idp/browser.js), waits for the first sync to reach home, and saves a
// screenshot to $COUNTERSIGN_DEMO_SHOT. The app's profile is a throwaway home.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session, startDriver } from '../../tests/e2e/webdriver.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const home = mkdtempSync(join(tmpdir(), 'cs-demo-'));
const env = {
  ...process.env,
  HOME: home,
  XDG_CONFIG_HOME: join(home, 'config'),
  XDG_DATA_HOME: join(home, 'data'),
  TAURI_WEBVIEW_AUTOMATION: 'true',
  BROWSER: join(root, 'dev/idp/browser.js'),
  COUNTERSIGN_E2E_USER: 'alice',
};
const driver = await startDriver(env);
const session = await Session.start(driver.base, process.env.COUNTERSIGN_APP_BIN);
try {
  await session.click('[data-testid=sign-in-0]');
  await session.find('[data-testid=home]', { timeout: 120_000 });
  await session.settled();
  const shot = process.env.COUNTERSIGN_DEMO_SHOT;
  mkdirSync(dirname(shot), { recursive: true });
  writeFileSync(shot, await session.screenshot());
  console.log(`demo: alice signed in and synced (${await session.exec('return document.title')})`);
} finally {
  await session.quit().catch(() => {});
  await driver.stop();
  // The window may outlive its WebDriver session; nothing of the demo's run stays behind.
  try { execFileSync('pkill', ['-x', '-f', process.env.COUNTERSIGN_APP_BIN]); } catch { /* already gone */ }
}
