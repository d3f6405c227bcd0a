// The self-check's flows (run by dev/glewlwyd/check, which brings Glewlwyd up and down): an app
// stand-in on 127.0.0.1:53682, sign-ins through browser.js, the token endpoint as the public
// client. Prints what Glewlwyd does; exits 1 when something the tests rely on does not hold.
//   node check.js <dir>   (<dir> as made by dev/glewlwyd/up; reads <dir>/env)
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';

const here = new URL('.', import.meta.url).pathname;
const dir = process.argv[2];
const env = Object.fromEntries(readFileSync(join(dir, 'env'), 'utf8').split('\n')
  .filter((l) => /^GLEWLWYD_\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const issuer = env.GLEWLWYD_ISSUER;
const clientId = env.GLEWLWYD_CLIENT_ID;
const audience = env.GLEWLWYD_AUDIENCE;
const LOOPBACK_PORT = 53682;
const redirectUri = `http://127.0.0.1:${LOOPBACK_PORT}/callback`;
const SCOPE = 'openid profile email offline_access';

let failures = 0;
function expect(ok, what) {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures += 1;
}
const show = (label, value) => console.log(`  ${label}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
const decode = (jwt) => jwt.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8')));

// The app's loopback listener, standing in for crates/countersign-client's.
const hits = [];
const listener = http.createServer((req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  hits.push(url);
  res.writeHead(url.pathname === '/callback' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end('You can close this window.');
});
await new Promise((resolve) => {
  listener.once('error', (e) => {
    console.error(`check: cannot listen on 127.0.0.1:${LOOPBACK_PORT}, the port registered for the app (${e.code}); is an app or another check running?`);
    process.exit(1);
  });
  listener.listen(LOOPBACK_PORT, '127.0.0.1', resolve);
});

async function form(url, fields, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json };
}

/** One sign-in through browser.js, as the app would start it; returns the redirect's parameters. */
async function signIn({ user = 'alice', extra = {}, password } = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const url = new URL(discovery.authorization_endpoint);
  const params = {
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: SCOPE,
    state, nonce, code_challenge: challenge, code_challenge_method: 'S256', prompt: 'consent', ...extra,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  const before = hits.length;
  const started = process.hrtime.bigint();
  let ok = true;
  let stderr = '';
  try {
    await promisify(execFile)(process.execPath, [join(here, 'browser.js'), url.href], {
      env: { ...process.env, COUNTERSIGN_E2E_USER: user, ...(password ? { COUNTERSIGN_E2E_PASSWORD: password } : {}) },
    });
  } catch (e) {
    ok = false;
    stderr = (e.stderr || e.message).trim();
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const hit = hits.length === before + 1 ? hits.at(-1) : undefined;
  return { ok, stderr, ms, hit, state, nonce, verifier, url: url.href };
}

async function exchange(s) {
  return form(discovery.token_endpoint, {
    grant_type: 'authorization_code', code: s.hit.searchParams.get('code'), redirect_uri: redirectUri,
    client_id: clientId, code_verifier: s.verifier,
  });
}

let discovery;
try {
  console.log(`Glewlwyd ${issuer}`);
  discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  console.log('discovery');
  show('issuer', discovery.issuer);
  show('authorization_response_iss_parameter_supported', discovery.authorization_response_iss_parameter_supported ?? '(absent)');
  show('revocation_endpoint', discovery.revocation_endpoint ?? '(absent)');
  show('revocation_endpoint_auth_methods_supported', discovery.revocation_endpoint_auth_methods_supported ?? '(absent)');
  show('code_challenge_methods_supported', discovery.code_challenge_methods_supported ?? '(absent)');
  show('token_endpoint_auth_methods_supported', discovery.token_endpoint_auth_methods_supported ?? '(absent)');
  expect(discovery.issuer === issuer, 'discovery issuer = GLEWLWYD_ISSUER');

  // 1. The app's sign-in: code + PKCE S256, resource = the API's audience, prompt=consent.
  console.log(`sign-in (alice, resource=${audience}, as the app sends it)`);
  const s = await signIn({ extra: { resource: audience } });
  expect(s.ok && s.hit, `browser.js reached the loopback listener (${s.ms.toFixed(0)} ms)${s.stderr ? `: ${s.stderr}` : ''}`);
  if (!s.hit) throw new Error('the sign-in failed; nothing else can be checked');
  show('redirect parameters', [...s.hit.searchParams.keys()].join(', '));
  expect(s.hit.searchParams.get('state') === s.state, 'state comes back unchanged');
  show('iss in redirect', s.hit.searchParams.has('iss') ? s.hit.searchParams.get('iss') : '(absent)');
  if (s.hit.searchParams.has('iss')) expect(s.hit.searchParams.get('iss') === issuer, 'redirect iss = issuer');
  const t = await exchange(s);
  expect(t.status === 200 && t.json?.access_token, `code exchanged as the public client, no secret (${t.status})`);
  if (!t.json?.access_token) throw new Error(`token endpoint: ${t.status} ${t.text.slice(0, 300)}`);
  show('token response fields', Object.keys(t.json).join(', '));
  const [ath, atc] = decode(t.json.access_token);
  console.log('access token');
  show('header', { typ: ath.typ, alg: ath.alg, kid: ath.kid });
  show('claims', { iss: atc.iss, aud: atc.aud, sub: atc.sub, scope: atc.scope, exp: atc.exp, client_id: atc.client_id });
  show('all claim names', Object.keys(atc).join(', '));
  expect(ath.typ === 'at+jwt', 'typ is at+jwt');
  expect(atc.iss === issuer, 'iss = GLEWLWYD_ISSUER');
  expect(atc.aud === audience || (Array.isArray(atc.aud) && atc.aud.includes(audience)), `aud names ${audience}`);
  const jwks = await (await fetch(discovery.jwks_uri)).json();
  expect(jwks.keys?.some((k) => k.kid === ath.kid), 'kid is in the JWKS');
  const [, idc] = decode(t.json.id_token);
  console.log('id token');
  show('claims', idc);
  expect(idc.nonce === s.nonce && idc.aud === clientId && idc.iss === issuer, 'id token: nonce, aud = client_id, iss');
  expect(idc.sub === atc.sub, 'id token sub = access token sub');
  expect(atc.sub === env.GLEWLWYD_SUB_ALICE, 'sub = GLEWLWYD_SUB_ALICE (learned by up: stable per user)');

  // 2. aud without resource, with a plain-string resource, with a resource not registered.
  console.log('aud for other requests');
  const plain = await signIn({});
  const plainTok = plain.hit && await exchange(plain);
  show('no resource: aud', plainTok?.json?.access_token ? decode(plainTok.json.access_token)[1].aud : `(no token: ${plain.stderr || plainTok?.text})`);
  const str = await signIn({ extra: { resource: 'countersign-api' } });
  const strTok = str.hit?.searchParams.get('code') && await exchange(str);
  show('resource=countersign-api (not a URI, not registered)', str.hit
    ? (strTok?.json?.access_token ? `aud ${JSON.stringify(decode(strTok.json.access_token)[1].aud)}` : `redirect ${str.hit.search}`)
    : `refused: ${str.stderr}`);
  const other = await signIn({ extra: { resource: 'https://other.example/api' } });
  const otherTok = other.hit?.searchParams.get('code') && await exchange(other);
  show('resource=https://other.example/api (not registered)', other.hit
    ? (otherTok?.json?.access_token ? `aud ${JSON.stringify(decode(otherTok.json.access_token)[1].aud)}` : `redirect ${other.hit.search}`)
    : `refused: ${other.stderr}`);
  const tokOnly = plain.hit && await form(discovery.token_endpoint, {
    grant_type: 'refresh_token', refresh_token: plainTok.json.refresh_token, client_id: clientId, resource: audience,
  });
  show('resource only at the token endpoint (refresh of the no-resource sign-in)', tokOnly?.json?.access_token
    ? `aud ${JSON.stringify(decode(tokOnly.json.access_token)[1].aud)}` : `${tokOnly?.status} ${tokOnly?.text}`);

  // 3. A redirect URI on another port.
  console.log('redirect URI on another port (http://127.0.0.1:53684/callback)');
  const bad = new URL(s.url);
  bad.searchParams.set('redirect_uri', 'http://127.0.0.1:53684/callback');
  const badRes = await fetch(bad, { redirect: 'manual' });
  const badBody = (await badRes.text()).replace(/\s+/g, ' ').slice(0, 200);
  show('authorization endpoint', `${badRes.status}${badRes.headers.get('location') ? ` → ${badRes.headers.get('location')}` : ''} ${badBody}`);
  expect(badRes.status >= 400 && !badRes.headers.get('location')?.includes('53684'), 'refused, no redirect to the other port');

  // 4. The code is single-use; a wrong PKCE verifier is refused.
  console.log('code and PKCE');
  const replay = await exchange(s);
  show('the same code again', `${replay.status} ${replay.text}`);
  expect(replay.status >= 400, 'a used code is refused');
  const wrong = await signIn({});
  const wrongTok = await form(discovery.token_endpoint, {
    grant_type: 'authorization_code', code: wrong.hit.searchParams.get('code'), redirect_uri: redirectUri, client_id: clientId,
    code_verifier: randomBytes(32).toString('base64url'),
  });
  show('wrong code_verifier', `${wrongTok.status} ${wrongTok.text}`);
  expect(wrongTok.status >= 400, 'a wrong verifier is refused');

  // 5. Refresh with rotation, then replay of the used refresh token.
  console.log('refresh');
  const rot = await signIn({ extra: { resource: audience } });
  const r0 = (await exchange(rot)).json;
  const r1 = await form(discovery.token_endpoint, { grant_type: 'refresh_token', refresh_token: r0.refresh_token, client_id: clientId });
  show('refresh with the first refresh token', `${r1.status}, fields ${Object.keys(r1.json || {}).join(', ')}`);
  expect(r1.status === 200 && r1.json.access_token, 'refresh as the public client works');
  expect(r1.json.refresh_token && r1.json.refresh_token !== r0.refresh_token, 'a new refresh token comes back (rotation)');
  if (r1.json?.access_token) show('refreshed access token aud', decode(r1.json.access_token)[1].aud);
  if (r1.json?.id_token) show('refreshed id token sub', decode(r1.json.id_token)[1].sub);
  const r1again = await form(discovery.token_endpoint, { grant_type: 'refresh_token', refresh_token: r0.refresh_token, client_id: clientId });
  show('the first refresh token again', `${r1again.status} ${r1again.text}`);
  expect(r1again.status >= 400, 'a used refresh token is refused');
  if (r1.json?.refresh_token) {
    const r2 = await form(discovery.token_endpoint, { grant_type: 'refresh_token', refresh_token: r1.json.refresh_token, client_id: clientId });
    show('the second refresh token after that replay', `${r2.status} ${r2.text.slice(0, 120)}`);
  }

  // 6. Revocation of a refresh token by the public client (what sign-out does).
  console.log('revocation');
  const rv = await signIn({});
  const rvTok = (await exchange(rv)).json;
  if (discovery.revocation_endpoint) {
    const revoked = await form(discovery.revocation_endpoint, { token: rvTok.refresh_token, token_type_hint: 'refresh_token', client_id: clientId });
    show('public client (client_id in the body)', `${revoked.status} ${revoked.text || '(empty)'}`);
    const bearer = await form(discovery.revocation_endpoint, { token: rvTok.refresh_token, token_type_hint: 'refresh_token' },
      { authorization: `Bearer ${rvTok.access_token}` });
    show('with the access token as Bearer', `${bearer.status} ${bearer.text || '(empty)'}`);
    const still = await form(discovery.token_endpoint, { grant_type: 'refresh_token', refresh_token: rvTok.refresh_token, client_id: clientId });
    show('the refresh token afterwards', `${still.status}${still.status === 200 ? ' (still valid)' : ` ${still.text}`}`);
  }

  // 7. A wrong password.
  console.log('wrong password');
  const pw = await signIn({ user: 'bob', password: 'not-bobs' });
  expect(!pw.ok && !pw.hit, `refused, no redirect (${pw.stderr})`);

  // 8. RFC 9207 iss with oauth-as-iss-id switched on (then back).
  console.log('oauth-as-iss-id on');
  await promisify(execFile)(process.execPath, [join(here, 'admin.js'), 'iss-param', dir, 'on']);
  const on = await signIn({ user: 'sam', extra: { resource: audience } });
  const onDoc = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  show('iss in redirect', on.hit?.searchParams.get('iss') ?? '(absent)');
  show('authorization_response_iss_parameter_supported', onDoc.authorization_response_iss_parameter_supported ?? '(absent)');
  expect(on.hit?.searchParams.get('iss') === issuer, 'redirect carries iss = issuer');
  await promisify(execFile)(process.execPath, [join(here, 'admin.js'), 'iss-param', dir, env.GLEWLWYD_ISS_PARAM]);
  const back = await signIn({ user: 'sid' });
  show(`iss in redirect after switching back to ${env.GLEWLWYD_ISS_PARAM}`, back.hit?.searchParams.get('iss') ?? '(absent)');
  expect(back.hit && back.hit.searchParams.has('iss') === (env.GLEWLWYD_ISS_PARAM === 'on'), `iss follows oauth-as-iss-id=${env.GLEWLWYD_ISS_PARAM}`);

  // 9. One more sign-in, timed, for the README.
  const timed = await signIn({ user: 'bob', extra: { resource: audience } });
  show('one sign-in through browser.js (node start included)', `${timed.ms.toFixed(0)} ms`);
} catch (e) {
  console.log(`  FAIL ${e.message}`);
  failures += 1;
} finally {
  listener.closeAllConnections();
  listener.close();
}
console.log(failures ? `check: ${failures} failure(s)` : 'check: ok');
process.exitCode = failures ? 1 : 0;
