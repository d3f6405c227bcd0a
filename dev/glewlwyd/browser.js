#!/usr/bin/env node
// A scripted "system browser" for tests against Glewlwyd (dev/glewlwyd/up): the app opens the
// sign-in page with `xdg-open <url>`, which runs `$BROWSER <url>` on a machine without a desktop;
// this signs in as a person would and lets the redirect reach the app's loopback listener.
// Glewlwyd's login page (login.html) is a JavaScript app; this calls the same REST endpoints
// the page calls, in the same order:
//   GET  <authorization URL>                → 302 to login.html?client_id&scope&callback_url
//   POST /api/auth/ {username, password}     → the session cookie
//   GET  /api/auth/grant/<client>/<scopes>   → which scopes this user already granted the client
//   PUT  /api/auth/grant/<client> {scope}    → the consent (the page's "grant" button), if needed
//   GET  <callback_url>&g_continue           → 302 to the redirect URI with code, state (and iss);
//                                              the page's "Continue" button adds `g_continue`:
//                                              without it Glewlwyd shows its login page again
//   GET  <redirect URI>                      → the app's loopback listener
// Never the app's own code: it only plays the user.
//   COUNTERSIGN_E2E_USER          who signs in (default alice; password <user>-pw)
//   COUNTERSIGN_E2E_PASSWORD      another password (optional; to test a refused sign-in)
//   COUNTERSIGN_E2E_BROWSER_LOG   a file to append what happened to (optional)
// Exit status 0 when the redirect reached a URI outside Glewlwyd; 1 otherwise.
// Also a module: signIn(url, { user, password, deliver }) (admin.js uses it without delivering).
import { appendFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CookieJar } from '../idp/harness.js';

/** One request as the browser (or the login page's XHR) would make it; redirects not followed. */
async function request(jar, target, { method = 'GET', json } = {}) {
  const headers = { accept: json === undefined ? 'text/html' : 'application/json' };
  const cookie = jar.header(target);
  if (cookie) headers.cookie = cookie;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(target, { method, headers, body: json === undefined ? undefined : JSON.stringify(json), redirect: 'manual' });
  jar.store(target, res);
  const location = res.headers.get('location') ? new URL(res.headers.get('location'), target).href : undefined;
  return { status: res.status, location, text: await res.text() };
}

/** Follows redirects while they stay on Glewlwyd; returns the first response that is not one. */
async function follow(jar, start, origin) {
  let target = start;
  for (let hop = 0; hop < 20; hop += 1) {
    const r = await request(jar, target);
    if (![301, 302, 303, 307, 308].includes(r.status) || !r.location) return { ...r, url: target };
    if (new URL(r.location).origin !== origin) return { ...r, url: target, leaving: r.location };
    target = r.location;
  }
  throw new Error('too many redirects');
}

/**
 * Signs `user` in for the authorization request `url`; returns the URL Glewlwyd redirects to
 * (the client's redirect URI with code, state, maybe iss — or error). With `deliver` (default)
 * that URL is then requested, as the browser would, so that the app's listener gets it.
 */
export async function signIn(url, { user = 'alice', password = `${user}-pw`, deliver = true } = {}) {
  const jar = new CookieJar();
  const origin = new URL(url).origin;
  const api = `${origin}/api`;
  let r = await follow(jar, url, origin);
  if (!r.leaving) {
    // Not signed in yet: Glewlwyd sent us to its login page with what it needs.
    const login = new URL(r.url);
    if (!login.pathname.endsWith('/login.html')) {
      throw new Error(`Glewlwyd refused the authorization request: ${r.status} at ${login.pathname}${r.text ? `: ${r.text.slice(0, 200)}` : ''}`);
    }
    const clientId = login.searchParams.get('client_id');
    const scope = login.searchParams.get('scope') || '';
    const callback = login.searchParams.get('callback_url');
    if (!clientId || !callback) throw new Error(`login page without client_id or callback_url: ${r.url}`);

    const auth = await request(jar, `${api}/auth/`, { method: 'POST', json: { username: user, password } });
    if (auth.status !== 200) throw new Error(`sign-in as ${user} refused: ${auth.status}`);

    const grants = await request(jar, `${api}/auth/grant/${encodeURIComponent(clientId)}/${encodeURIComponent(scope)}`);
    if (grants.status !== 200) throw new Error(`reading the grants failed: ${grants.status} ${grants.text.slice(0, 200)}`);
    const listed = JSON.parse(grants.text).scope || [];
    if (listed.some((s) => !s.granted)) {
      // The consent screen: the person ticks every scope the client asks for and presses "grant".
      const put = await request(jar, `${api}/auth/grant/${encodeURIComponent(clientId)}`, { method: 'PUT', json: { scope: listed.map((s) => s.name).join(' ') } });
      if (put.status !== 200) throw new Error(`granting ${scope} failed: ${put.status} ${put.text.slice(0, 200)}`);
    }
    const next = new URL(callback, origin).href;
    r = await follow(jar, `${next}${next.includes('?') ? '&' : '?'}g_continue`, origin);
    if (!r.leaving) throw new Error(`no redirect to the app after sign-in: ${r.status} at ${new URL(r.url).pathname}`);
  }
  const redirect = new URL(r.leaving);
  // The app's loopback listener gets the redirect, as a browser would deliver it.
  const delivered = deliver ? await request(jar, r.leaving) : undefined;
  return { redirect, status: delivered?.status };
}

function isMain() {
  try { return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url)); } catch { return false; }
}

if (isMain()) {
  const url = process.argv[2];
  const user = process.env.COUNTERSIGN_E2E_USER || 'alice';
  const log = (line) => {
    if (process.env.COUNTERSIGN_E2E_BROWSER_LOG) appendFileSync(process.env.COUNTERSIGN_E2E_BROWSER_LOG, `${new Date().toISOString()} glewlwyd ${line}\n`);
  };
  try {
    if (!url) throw new Error('usage: browser.js <authorization URL>');
    const { redirect, status } = await signIn(url, { user, password: process.env.COUNTERSIGN_E2E_PASSWORD || `${user}-pw` });
    log(`signed in as ${user}: ${status} at ${redirect.origin}${redirect.pathname} (${[...redirect.searchParams.keys()].join(', ')})`);
  } catch (e) {
    log(`failed: ${e.message}`);
    console.error(`browser.js: ${e.message}`);
    process.exitCode = 1;
  }
}
