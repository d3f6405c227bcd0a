// Test helpers: start the IdP as a child process, a hand-rolled cookie jar, a browser-like
// client (fetch with redirect: 'manual'), a loopback redirect listener, PKCE, JWT checks.
import { spawn, execFile } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SERVER = new URL('./server.js', import.meta.url).pathname;
export const CLIENT_ID = 'countersign-desktop';
export const AUDIENCE = 'countersign-api';

/** A free TCP port on 127.0.0.1 (for the "caller picks the port" path). */
export async function freePort() {
  const s = http.createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Fresh RSA key (openssl) and an IdP child process; resolves once it printed its issuer. */
export async function startIdp({ port = 0, env = {} } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'idp-test-'));
  const keyFile = join(dir, 'key.pem');
  await promisify(execFile)('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyFile]);
  const child = spawn(process.execPath, [SERVER], {
    env: {
      PATH: process.env.PATH,
      IDP_PORT: String(port),
      IDP_AUDIENCE: AUDIENCE,
      IDP_KEY_FILE: keyFile,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const issuer = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`idp not ready in 15 s: ${stderr}`)), 15_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^idp listening on (\S+)$/m.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`idp exited ${code}: ${stderr}`)); });
  });
  return {
    issuer,
    get stderr() { return stderr; },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the IdP on a port picked here (the "caller picks the port" path). Another process can
 * take that port before the IdP binds it (seen when test suites run side by side); then another
 * port is picked, up to five times. `env` is the IdP's environment, or a function of the port
 * giving it (for an issuer that names the port). The result is the IdP with its `port`.
 */
export async function startIdpOnFreePort(env = {}) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return Object.assign(await startIdp({ port, env: typeof env === 'function' ? env(port) : env }), { port });
    } catch (e) {
      if (attempt >= 5 || !/EADDRINUSE/.test(e.message)) throw e;
    }
  }
}

/**
 * Runs `startIdpFn` (resolving to an IdP) and starts a loopback listener alongside. If either
 * fails, the other is stopped before the error is thrown: a listener left open would keep the
 * test process alive after its suite failed, and `node --test` would wait for it forever.
 */
export async function startWithLoopback(startIdpFn) {
  const [idp, loopback] = await Promise.allSettled([startIdpFn(), startLoopback()]);
  if (idp.status === 'fulfilled' && loopback.status === 'fulfilled') return [idp.value, loopback.value];
  await Promise.all([idp.status === 'fulfilled' && idp.value.stop(), loopback.status === 'fulfilled' && loopback.value.close()]);
  throw idp.status === 'rejected' ? idp.reason : loopback.reason;
}

/** Minimal RFC 6265 cookie jar: name/path/expiry, host-only. Enough for oidc-provider. */
export class CookieJar {
  #cookies = new Map(); // `${host} ${path} ${name}` → { host, path, name, value }

  store(url, response) {
    const { host } = new URL(url);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = value === '';
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) path = v;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const id = `${host} ${path} ${name}`;
      if (expired) this.#cookies.delete(id);
      else this.#cookies.set(id, { host, path, name, value });
    }
  }

  header(url) {
    const { host, pathname } = new URL(url);
    const matches = [...this.#cookies.values()].filter((c) => c.host === host
      && (pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)));
    return matches.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

/** Browser-like client: one cookie jar, manual redirects. */
export class Browser {
  jar = new CookieJar();

  hops = []; // every request made: { method, url, status, location }

  async request(url, { method = 'GET', form } = {}) {
    const headers = { accept: 'text/html' };
    const cookie = this.jar.header(url);
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    this.jar.store(url, res);
    const location = res.headers.get('location') ? new URL(res.headers.get('location'), url).href : undefined;
    this.hops.push({ method, url, status: res.status, location });
    return { res, status: res.status, location, text: await res.text(), url };
  }

  /** Request, then follow 30x like a browser (303/302 → GET), up to 20 hops. */
  async navigate(url, opts) {
    let r = await this.request(url, opts);
    for (let i = 0; r.location && [301, 302, 303, 307, 308].includes(r.status); i += 1) {
      if (i > 20) throw new Error('too many redirects');
      r = await this.request(r.location);
    }
    return r;
  }
}

/** A real loopback listener on 127.0.0.1:<ephemeral> receiving the authorization response. */
export async function startLoopback() {
  const hits = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    hits.push({ path: url.pathname, ...Object.fromEntries(url.searchParams) });
    res.writeHead(['/callback', '/logout'].includes(url.pathname) ? 200 : 404, { 'content-type': 'text/plain' });
    res.end('You can close this window.');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    redirectUri: `http://127.0.0.1:${port}/callback`,
    hits,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizationUrl(issuer, params) {
  const url = new URL('/auth', issuer);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

/**
 * The whole browser-like sign-in. Returns { browser, params (at the loopback), pkce, nonce, state }.
 * `password` defaults to `<username>-pw`.
 */
export async function signIn(issuer, loopback, { username, password = `${username}-pw`, scope = 'openid profile email offline_access', extra = {} } = {}) {
  const browser = new Browser();
  const p = pkce();
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const before = loopback.hits.length;
  const url = authorizationUrl(issuer, {
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: loopback.redirectUri,
    scope,
    prompt: 'consent',
    state,
    nonce,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  const login = await browser.navigate(url);
  assertPage(login, 200, 'name="password"');
  const consent = await browser.navigate(login.url, { method: 'POST', form: { prompt: 'login', login: username, password } });
  assertPage(consent, 200, 'value="consent"');
  const done = await browser.navigate(consent.url, { method: 'POST', form: { prompt: 'consent' } });
  if (done.status !== 200 || !done.url.startsWith(loopback.redirectUri)) {
    throw new Error(`sign-in did not reach the loopback: ${done.status} ${done.url}`);
  }
  if (loopback.hits.length !== before + 1) throw new Error('loopback listener not hit exactly once');
  return { browser, params: loopback.hits.at(-1), pkce: p, nonce, state };
}

function assertPage(r, status, needle) {
  if (r.status !== status || !r.text.includes(needle)) {
    throw new Error(`expected ${status} page containing ${needle}, got ${r.status} at ${r.url}: ${r.text.slice(0, 300)}`);
  }
}

/** POST a form to an IdP endpoint; returns { status, body } with the JSON body. */
export async function postForm(url, form) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
    redirect: 'manual',
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export function decodeJwt(jwt) {
  const [h, p, s] = jwt.split('.');
  const json = (x) => JSON.parse(Buffer.from(x, 'base64url').toString('utf8'));
  return { header: json(h), payload: json(p), signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

/** Verifies an RS256 JWT against a JWKS; returns the decoded token. */
export function verifyJwt(jwt, jwks) {
  const t = decodeJwt(jwt);
  const jwk = jwks.keys.find((k) => k.kid === t.header.kid);
  if (!jwk) throw new Error(`kid ${t.header.kid} not in JWKS`);
  if (t.header.alg !== 'RS256') throw new Error(`alg ${t.header.alg}`);
  const ok = verify('RSA-SHA256', Buffer.from(t.signingInput), createPublicKey({ key: jwk, format: 'jwk' }), t.signature);
  if (!ok) throw new Error('bad signature');
  return t;
}
