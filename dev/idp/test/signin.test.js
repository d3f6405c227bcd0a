import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  AUDIENCE, CLIENT_ID, authorizationUrl, decodeJwt, pkce as makePkce, postForm, signIn, startIdp, startLoopback, startWithLoopback, verifyJwt,
} from '../harness.js';

describe('sign-in, tokens, refresh and revocation', () => {
  let idp;
  let loopback;
  let jwks;
  let discovery;

  before(async () => {
    [idp, loopback] = await startWithLoopback(() => startIdp());
    discovery = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
    jwks = await (await fetch(discovery.jwks_uri)).json();
  });
  after(async () => { await Promise.all([idp?.stop(), loopback?.close()]); });

  const exchange = (code, redirectUri, verifier) => postForm(discovery.token_endpoint, {
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: CLIENT_ID,
  });
  const refresh = (refreshToken) => postForm(discovery.token_endpoint, {
    grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT_ID,
  });

  function checkAccessToken(accessToken, sub) {
    const at = verifyJwt(accessToken, jwks);
    assert.equal(at.header.typ, 'at+jwt');
    assert.equal(at.header.alg, 'RS256');
    assert.equal(at.payload.iss, idp.issuer);
    assert.equal(at.payload.aud, AUDIENCE);
    assert.equal(at.payload.sub, sub);
    assert.equal(at.payload.client_id, CLIENT_ID);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(at.payload.exp > now && at.payload.exp <= now + 600 + 5, `exp ${at.payload.exp}`);
    return at;
  }

  test('discovery and JWKS (public keys only)', () => {
    assert.equal(discovery.issuer, idp.issuer);
    assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
    assert.ok(discovery.revocation_endpoint);
    assert.ok(discovery.end_session_endpoint);
    assert.equal(discovery.authorization_response_iss_parameter_supported, true);
    assert.equal(jwks.keys.length, 1);
    const [key] = jwks.keys;
    assert.equal(key.kty, 'RSA');
    assert.equal(key.use, 'sig');
    assert.equal(key.alg, 'RS256');
    assert.match(key.kid, /^[A-Za-z0-9_-]{43}$/);
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key[priv], undefined, priv);
  });

  test('alice signs in like a browser; code → JWT access token, id_token, refresh rotation', async () => {
    const { params, pkce, nonce, state } = await signIn(idp.issuer, loopback, { username: 'alice' });
    assert.equal(params.state, state);
    assert.equal(params.iss, idp.issuer);
    assert.ok(params.code);
    assert.equal(params.error, undefined);

    const tok = await exchange(params.code, loopback.redirectUri, pkce.verifier);
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    assert.equal(tok.body.token_type, 'Bearer');
    assert.equal(tok.body.expires_in, 600);
    assert.equal(tok.body.scope, 'openid profile email offline_access');
    assert.equal(checkAccessToken(tok.body.access_token, 'staff-alice').payload.scope, tok.body.scope);

    const id = verifyJwt(tok.body.id_token, jwks).payload;
    assert.equal(id.iss, idp.issuer);
    assert.equal(id.aud, CLIENT_ID);
    assert.equal(id.sub, 'staff-alice');
    assert.equal(id.nonce, nonce);
    assert.equal(id.email, 'alice@countersign.example');
    assert.equal(id.preferred_username, 'alice');
    assert.equal(id.name, 'Alice');
    assert.ok(tok.body.refresh_token);

    // every refresh rotates; the audience is kept without a resource parameter
    const r1 = await refresh(tok.body.refresh_token);
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.notEqual(r1.body.refresh_token, tok.body.refresh_token);
    checkAccessToken(r1.body.access_token, 'staff-alice');
    assert.equal(decodeJwt(r1.body.id_token).payload.sub, 'staff-alice');

    const r2 = await refresh(r1.body.refresh_token);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    assert.notEqual(r2.body.refresh_token, r1.body.refresh_token);
    checkAccessToken(r2.body.access_token, 'staff-alice');

    // reuse of an old refresh token is refused, and revokes the whole grant (reuse detection)
    const reuse = await refresh(tok.body.refresh_token);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');
    const afterReuse = await refresh(r2.body.refresh_token);
    assert.equal(afterReuse.status, 400);
    assert.equal(afterReuse.body.error, 'invalid_grant');

    // the code is single-use (a replay would also revoke what it issued)
    const again = await exchange(params.code, loopback.redirectUri, pkce.verifier);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, 'invalid_grant');
  });

  test('revocation (RFC 7009) of the refresh token', async () => {
    const { params, pkce } = await signIn(idp.issuer, loopback, { username: 'bob' });
    const tok = await exchange(params.code, loopback.redirectUri, pkce.verifier);
    assert.equal(tok.status, 200);
    checkAccessToken(tok.body.access_token, 'staff-bob');

    const rev = await postForm(discovery.revocation_endpoint, {
      token: tok.body.refresh_token, token_type_hint: 'refresh_token', client_id: CLIENT_ID,
    });
    assert.equal(rev.status, 200);
    const r = await refresh(tok.body.refresh_token);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
  });

  test('loopback redirect on two different ports; customer subs', async () => {
    const other = await startLoopback();
    try {
      assert.notEqual(other.port, loopback.port);
      const a = await signIn(idp.issuer, loopback, { username: 'acme-admin' });
      const b = await signIn(idp.issuer, other, { username: 'globex-user' });

      // the redirect_uri at the token endpoint must be the one used (same port)
      const mismatch = await exchange(b.params.code, loopback.redirectUri, b.pkce.verifier);
      assert.equal(mismatch.status, 400);
      assert.equal(mismatch.body.error, 'invalid_grant');

      const ta = await exchange(a.params.code, loopback.redirectUri, a.pkce.verifier);
      assert.equal(ta.status, 200, JSON.stringify(ta.body));
      checkAccessToken(ta.body.access_token, 'cust-acme-admin');
      assert.equal(decodeJwt(ta.body.id_token).payload.email, 'acme-admin@acme.example');

      const b2 = await signIn(idp.issuer, other, { username: 'globex-user' });
      const tb = await exchange(b2.params.code, other.redirectUri, b2.pkce.verifier);
      assert.equal(tb.status, 200, JSON.stringify(tb.body));
      checkAccessToken(tb.body.access_token, 'cust-globex-user');
    } finally {
      await other.close();
    }
  });

  test('RP-initiated logout ends the session at the IdP', async () => {
    const { browser, params, pkce } = await signIn(idp.issuer, loopback, { username: 'sid' });
    const tok = await exchange(params.code, loopback.redirectUri, pkce.verifier);
    assert.equal(tok.status, 200);
    const postLogout = `http://127.0.0.1:${loopback.port}/logout`;
    const url = new URL(discovery.end_session_endpoint);
    url.search = new URLSearchParams({ id_token_hint: tok.body.id_token, post_logout_redirect_uri: postLogout, state: 'bye' });
    const confirm = await browser.request(url.href);
    assert.equal(confirm.status, 200);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)?.[1];
    const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(confirm.text)?.[1];
    assert.ok(xsrf && action, confirm.text);
    const done = await browser.navigate(new URL(action, idp.issuer).href, { method: 'POST', form: { xsrf, logout: 'yes' } });
    assert.equal(done.status, 200);
    assert.deepEqual(loopback.hits.at(-1), { path: '/logout', state: 'bye' });

    // the IdP session is gone: the next authorization asks for the password again
    const again = await browser.navigate(authorizationUrl(idp.issuer, {
      client_id: CLIENT_ID, response_type: 'code', redirect_uri: loopback.redirectUri, scope: 'openid',
      code_challenge: makePkce().challenge, code_challenge_method: 'S256',
    }));
    assert.equal(again.status, 200);
    assert.match(again.text, /name="password"/);
  });

  test('an explicit resource parameter for the API gives the same audience', async () => {
    const resource = 'urn:countersign:api';
    const { params, pkce } = await signIn(idp.issuer, loopback, {
      username: 'sam', scope: 'openid profile email offline_access api', extra: { resource },
    });
    const tok = await postForm(discovery.token_endpoint, {
      grant_type: 'authorization_code',
      code: params.code,
      redirect_uri: loopback.redirectUri,
      code_verifier: pkce.verifier,
      client_id: CLIENT_ID,
      resource,
    });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    const at = checkAccessToken(tok.body.access_token, 'staff-sam');
    assert.equal(at.payload.scope, 'openid profile email offline_access api');
    const r = await refresh(tok.body.refresh_token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    checkAccessToken(r.body.access_token, 'staff-sam');
  });
});

// Issue 25, point 7: a provider that does not let native apps stay signed in.
describe('IDP_NO_REFRESH=1', () => {
  let idp;
  let loopback;
  before(async () => { [idp, loopback] = await startWithLoopback(() => startIdp({ env: { IDP_NO_REFRESH: '1' } })); });
  after(async () => { await Promise.all([idp?.stop(), loopback?.close()]); });

  test('a sign-in with offline_access gets an access token and no refresh token', async () => {
    const discovery = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
    const { params, pkce } = await signIn(idp.issuer, loopback, { username: 'alice' });
    const tok = await postForm(discovery.token_endpoint, {
      grant_type: 'authorization_code', code: params.code, redirect_uri: loopback.redirectUri,
      code_verifier: pkce.verifier, client_id: CLIENT_ID,
    });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    assert.ok(tok.body.access_token && tok.body.id_token);
    assert.equal(tok.body.refresh_token, undefined);
  });
});
