#!/usr/bin/env node
// Configures a Glewlwyd instance started by dev/glewlwyd/up through its admin REST API, as an
// administrator would through the admin page (which calls the same endpoints):
//   node admin.js setup <dir>             users, scopes, the OIDC plugin, the public client; writes <dir>/env
//   node admin.js iss-param <dir> on|off  turns `oauth-as-iss-id` (RFC 9207 `iss` in redirects) on or off
// <dir> holds glewlwyd.conf's port (file `port`), the signing key (`key.pem`) and the admin's
// password (`admin-password`, made by `up`; the schema's default admin password `password` is
// replaced before anything else is configured).
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync, realpathSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signIn } from './browser.js';

export const PLUGIN = 'oidc';
export const CLIENT_ID = 'countersign-desktop';
// The demo staff the tests sign in as at this provider too (crates/countersign-server/src/seed.rs).
export const USERS = ['alice', 'ana', 'carl', 'sam', 'bob', 'sid'];
export const SCOPES = ['openid', 'profile', 'email', 'offline_access'];
// The app's loopback listener: crates/countersign-client/src/oidc.rs (CALLBACK_PATH = "/callback");
// the ports an administrator registers (issue 23, point 1).
export const REDIRECT_URIS = ['http://127.0.0.1:53682/callback', 'http://127.0.0.1:53683/callback'];
// A URI audience: sent by the client as the RFC 8707 `resource` and put by Glewlwyd in `aud`.
// Without `resource` Glewlwyd puts the granted scope list in `aud` (see README.md).
export const DEFAULT_AUDIENCE = 'https://countersign.test/api';

/** An admin (or user) session against the REST API: JSON in and out, one cookie. */
export class Session {
  constructor(base) {
    this.base = base;
    this.cookie = '';
  }

  async call(method, path, body) {
    const headers = { accept: 'application/json' };
    if (this.cookie) headers.cookie = this.cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.base}/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0];
      if (pair.startsWith('GLEWLWYD2_SESSION_ID=')) this.cookie = pair;
    }
    const text = await res.text();
    return { status: res.status, text, json: text ? safeJson(text) : undefined };
  }

  /** Like call, but a status other than 200 is an error naming the request. */
  async must(method, path, body) {
    const r = await this.call(method, path, body);
    if (r.status !== 200) throw new Error(`${method} /api${path}: ${r.status} ${r.text.slice(0, 300)}`);
    return r;
  }
}

function safeJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

function instance(dir) {
  const port = readFileSync(join(dir, 'port'), 'utf8').trim();
  return { port, base: `http://127.0.0.1:${port}` };
}

async function adminSession(dir) {
  const { base } = instance(dir);
  const s = new Session(base);
  const file = join(dir, 'admin-password');
  const password = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  if (password && (await s.call('POST', '/auth/', { username: 'admin', password })).status === 200) return s;
  // A fresh database: the schema's admin password, replaced at once.
  await s.must('POST', '/auth/', { username: 'admin', password: 'password' });
  const fresh = randomBytes(18).toString('base64url');
  await s.must('PUT', '/profile/password', { username: 'admin', old_password: 'password', password: fresh });
  writeFileSync(file, `${fresh}\n`, { mode: 0o600 });
  return s;
}

/** The signing key as a private JWKS (RS256) with an RFC 7638 thumbprint as its kid. */
function jwks(dir) {
  const jwk = createPrivateKey(readFileSync(join(dir, 'key.pem'))).export({ format: 'jwk' });
  const kid = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url');
  return { kid, jwks: { keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] } };
}

function pluginParameters({ issuer, key, issParam }) {
  return {
    iss: issuer,
    'jwks-private': JSON.stringify(key.jwks),
    'default-kid': key.kid,
    'jwks-show': true,
    'jwt-type': 'rsa',
    'jwt-key-size': '256',
    'subject-type': 'public',
    // Access tokens are always JWTs with header typ "at+jwt" (RFC 9068) in 2.7: no option.
    'access-token-duration': 3600,
    'refresh-token-duration': 1209600,
    'code-duration': 600,
    'refresh-token-rolling': true,
    // Rotation: each refresh answers a new refresh token and disables the one used; a refresh
    // token used twice disables the newest of its chain.
    'refresh-token-one-use': 'always',
    'client-refresh-token-one-use-parameter': 'refresh-token-one-use',
    'allow-non-oidc': false,
    'auth-type-code-enabled': true,
    'auth-type-code-revoke-replayed': true,
    'auth-type-token-enabled': false,
    'auth-type-id-token-enabled': true,
    'auth-type-none-enabled': false,
    'auth-type-password-enabled': false,
    'auth-type-client-enabled': false,
    'auth-type-device-enabled': false,
    'auth-type-refresh-enabled': true,
    scope: [],
    'additional-parameters': [],
    claims: [],
    'allowed-scope': SCOPES,
    'name-claim': 'on-demand',
    'name-claim-scope': ['profile'],
    'email-claim': 'on-demand',
    'email-claim-scope': ['email'],
    'scope-claim': 'no',
    'address-claim': { type: 'no', formatted: '', street_address: '', locality: '', region: '', postal_code: '', country: '', mandatory: false },
    'pkce-allowed': true,
    'pkce-method-plain-allowed': false,
    'pkce-required': false,
    'pkce-required-public-client': true,
    'pkce-scopes': [],
    // The revocation endpoint exists (and is in discovery) but takes only confidential clients
    // (HTTP Basic) or access tokens with the scopes listed here (none): a public client is refused.
    'introspection-revocation-allowed': true,
    'introspection-revocation-allow-target-client': true,
    'introspection-revocation-auth-scope': [],
    // RFC 8707: `resource` must be one of the client's `resource` property values.
    'resource-allowed': true,
    'resource-scope': {},
    'resource-client-property': 'resource',
    'resource-scope-and-client-property': false,
    'oauth-as-iss-id': issParam,
    'request-parameter-allow': false,
    'session-management-allowed': false,
    'register-client-allowed': false,
    'encrypt-out-token-allow': false,
    'oauth-dpop-allowed': false,
    'oauth-par-allowed': false,
    'oauth-rar-allowed': false,
    'oauth-ciba-allowed': false,
  };
}

async function setup(dir) {
  const { port, base } = instance(dir);
  const issuer = `${base}/api/${PLUGIN}`;
  const audience = process.env.GLEWLWYD_AUDIENCE || DEFAULT_AUDIENCE;
  const issParam = ['1', 'on', 'true', 'yes'].includes((process.env.GLEWLWYD_ISS_PARAM || 'off').toLowerCase());
  const s = await adminSession(dir);

  // Scopes: `openid` comes with the schema. No password or scheme of their own: the password
  // the user signed in with is enough.
  for (const name of SCOPES.filter((n) => n !== 'openid')) {
    await s.must('POST', '/scope/', { name, display_name: name, description: `OpenID Connect scope ${name}`, password_required: false, password_max_age: 0, scheme: {} });
  }
  // Users, in the schema's database user backend; g_profile is for Glewlwyd's own profile page.
  for (const u of USERS) {
    await s.must('POST', '/user/', { username: u, password: `${u}-pw`, name: u[0].toUpperCase() + u.slice(1), email: `${u}@example.test`, enabled: true, scope: ['g_profile', ...SCOPES] });
  }
  // The desktop app: a public client (no secret), code + refresh, exact redirect URIs.
  await s.must('POST', '/client/', {
    client_id: CLIENT_ID,
    name: 'Countersign desktop',
    description: 'Countersign desktop app (public native client, PKCE)',
    confidential: false,
    enabled: true,
    redirect_uri: REDIRECT_URIS,
    authorization_type: ['code', 'refresh_token'],
    token_endpoint_auth_method: ['none'],
    resource: [audience],
    scope: [],
  });
  const key = jwks(dir);
  await s.must('POST', '/mod/plugin/', {
    module: 'oidc', name: PLUGIN, display_name: 'Countersign test OpenID provider', order_rank: 0, enabled: true,
    parameters: pluginParameters({ issuer, key, issParam }),
  });
  await s.must('PUT', `/mod/plugin/${PLUGIN}/reset`);
  const discovery = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (discovery.status !== 200) throw new Error(`discovery at ${issuer}: ${discovery.status}`);
  const doc = await discovery.json();
  if (doc.issuer !== issuer) throw new Error(`discovery names issuer ${doc.issuer}, expected ${issuer}`);

  // Each user's `sub`: opaque, made by Glewlwyd at a user's first token (subject-type public:
  // the same for every client, kept in its database). Learned by one real sign-in each, which
  // also proves the instance works before `up` says so.
  const subjects = [];
  for (const u of USERS) subjects.push(`GLEWLWYD_SUB_${u.toUpperCase()}=${await learnSubject(doc, u)}`);

  const pid = readFileSync(join(dir, 'glewlwyd.pid'), 'utf8').trim();
  writeFileSync(join(dir, 'env'), [
    `GLEWLWYD_ISSUER=${issuer}`,
    `GLEWLWYD_CLIENT_ID=${CLIENT_ID}`,
    `GLEWLWYD_AUDIENCE=${audience}`,
    `GLEWLWYD_PID=${pid}`,
    `GLEWLWYD_PORT=${port}`,
    `GLEWLWYD_URL=${base}`,
    `GLEWLWYD_REDIRECT_PORTS=${REDIRECT_URIS.map((u) => new URL(u).port).join(',')}`,
    `GLEWLWYD_ISS_PARAM=${issParam ? 'on' : 'off'}`,
    `GLEWLWYD_DIR=${dir}`,
    ...subjects,
    `export GLEWLWYD_ISSUER GLEWLWYD_CLIENT_ID GLEWLWYD_AUDIENCE GLEWLWYD_PID GLEWLWYD_PORT GLEWLWYD_URL GLEWLWYD_REDIRECT_PORTS GLEWLWYD_ISS_PARAM GLEWLWYD_DIR ${USERS.map((u) => `GLEWLWYD_SUB_${u.toUpperCase()}`).join(' ')}`,
    '',
  ].join('\n'));
}

/** Signs `user` in (code + PKCE, the redirect not delivered) and returns the access token's sub. */
async function learnSubject(doc, user) {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(doc.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URIS[0], scope: SCOPES.join(' '),
    state: randomBytes(8).toString('base64url'), nonce: randomBytes(8).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  })) url.searchParams.set(k, v);
  const { redirect } = await signIn(url.href, { user, deliver: false });
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`sign-in of ${user}: no code in ${redirect.search}`);
  const res = await fetch(doc.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URIS[0], client_id: CLIENT_ID, code_verifier: verifier }),
  });
  const body = await res.json().catch(() => ({}));
  if (res.status !== 200 || !body.access_token) throw new Error(`token for ${user}: ${res.status} ${JSON.stringify(body)}`);
  return JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString('utf8')).sub;
}

async function issParam(dir, value) {
  if (!['on', 'off'].includes(value)) throw new Error('usage: admin.js iss-param <dir> on|off');
  const s = await adminSession(dir);
  const mod = (await s.must('GET', `/mod/plugin/${PLUGIN}`)).json;
  mod.parameters['oauth-as-iss-id'] = value === 'on';
  await s.must('PUT', `/mod/plugin/${PLUGIN}`, { module: mod.module, name: mod.name, display_name: mod.display_name, order_rank: mod.order_rank, parameters: mod.parameters });
  // Plugin changes take effect only after a reset.
  await s.must('PUT', `/mod/plugin/${PLUGIN}/reset`);
  const env = join(dir, 'env');
  if (existsSync(env)) writeFileSync(env, readFileSync(env, 'utf8').replace(/^GLEWLWYD_ISS_PARAM=.*$/m, `GLEWLWYD_ISS_PARAM=${value}`));
}

function isMain() {
  try { return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url)); } catch { return false; }
}

const [command, dir, arg] = process.argv.slice(2);
if (isMain()) {
  try {
    if (command === 'setup' && dir) await setup(dir);
    else if (command === 'iss-param' && dir) await issParam(dir, arg);
    else throw new Error('usage: admin.js setup <dir> | admin.js iss-param <dir> on|off');
  } catch (e) {
    console.error(`glewlwyd admin: ${e.message}`);
    process.exitCode = 1;
  }
}
