// What every end-to-end scenario shares: a user's machine (profile), signing
// in through the scripted system browser, waiting for the app to be gone,
// screenshots of each step and of a failure.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const binary = process.env.COUNTERSIGN_APP_BIN || join(root, 'target/debug/countersign-desktop');
export const shots = join(root, 'target/e2e');
export const CTRL = '\uE009';
export const ENTER = '\uE007';
export const ESC = '\uE00C';
export const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

/** A user's machine: a home of its own (config, data), the app's IPC trace, the browser's log; `user` signs in. */
export function profile(name, user = 'alice') {
  const home = mkdtempSync(join(tmpdir(), `cs-e2e-${name}-`));
  const dir = join(shots, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return {
    home,
    dir,
    dataDir: join(home, 'data/countersign'),
    trace: join(home, 'ipc.jsonl'),
    browserLog: join(home, 'browser.log'),
    step: 0,
    env(extra = {}) {
      const env = { ...process.env };
      delete env.COUNTERSIGN_API_URL; // the app asks for its server (first screen)
      return {
        ...env,
        HOME: home,
        XDG_CONFIG_HOME: join(home, 'config'),
        XDG_DATA_HOME: join(home, 'data'),
        TAURI_WEBVIEW_AUTOMATION: 'true',
        BROWSER: join(root, 'dev/idp/browser.js'),
        COUNTERSIGN_E2E_USER: user,
        COUNTERSIGN_E2E_BROWSER_LOG: join(home, 'browser.log'),
        COUNTERSIGN_IPC_TRACE: join(home, 'ipc.jsonl'),
        ...extra,
      };
    },
    /** A screenshot of this step (≈1 s after the last click: DESIGN.md). */
    async shot(session, name) {
      await sleep(700);
      this.step += 1;
      writeFileSync(join(dir, `${String(this.step).padStart(2, '0')}-${name}.png`), await session.screenshot());
    },
  };
}

export function browserSignIns(p) {
  return existsSync(p.browserLog) ? readFileSync(p.browserLog, 'utf8').split('\n').filter((l) => l.includes('signed in as')).length : 0;
}

export function secret(service, account) {
  try {
    return execFileSync('secret-tool', ['lookup', 'service', service, 'username', account]).toString().trim();
  } catch {
    return ''; // no such entry
  }
}

export function bytesUnder(dir) {
  if (!existsSync(dir)) return Buffer.alloc(0);
  return Buffer.concat(readdirSync(dir, { recursive: true }).map((f) => join(dir, f)).filter((f) => { try { return readFileSync(f) && true; } catch { return false; } }).map((f) => readFileSync(f)));
}

export const pageText = 'return document.body.innerText';

/** The Ctrl+K palette has closed (its dialog animates out). */
export const paletteClosed = (session) => session.until('the search palette to close', 'return !document.querySelector("[data-testid=search-input]")');

/** From the first screen: the server's URL, sign-in in the (scripted) browser, the first sync, home. */
export async function signIn(session, p, server) {
  await session.type('[data-testid=server-url]', server.url);
  await p.shot(session, 'server-url');
  await session.click('[data-testid=server-connect]');
  await session.find('[data-testid=sign-in-0]');
  await p.shot(session, 'sign-in');
  await session.click('[data-testid=sign-in-0]');
  // Either the progress of the first sync or, when it was quick, home.
  await session.find('[data-testid=sync-progress], [data-testid=home]', { timeout: 30_000 });
  await p.shot(session, 'first-sync');
  await session.find('[data-testid=home]', { timeout: 60_000 });
}

/** The single-instance plugin's name on the session bus is taken (an app instance runs). */
export function instanceNameOwned() {
  const out = execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
    'org.freedesktop.DBus.NameHasOwner', 'string:com.countersign.desktop.SingleInstance']).toString();
  return out.includes('boolean true');
}

/**
 * Waits until the app is gone: no process of the binary, and the bus has let go of its
 * single-instance name (a loaded bus can lag behind the exit; a launch then would be
 * handed over to the dead instance and never connect).
 */
export async function appGone() {
  for (let i = 0; i < 150; i += 1) {
    let running = true;
    try {
      execFileSync('pgrep', ['-f', '-x', binary]);
    } catch {
      running = false; // pgrep found none
    }
    if (!running && !instanceNameOwned()) return;
    await sleep(100);
  }
  throw new Error('the app did not exit after its session was closed');
}

/** Saves the window as it was when a step failed, then fails. */
export async function failShot(session, p, e) {
  try { writeFileSync(join(p.dir, 'failed.png'), await session.screenshot()); } catch { /* the window is gone */ }
  throw e;
}

