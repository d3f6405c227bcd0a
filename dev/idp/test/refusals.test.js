import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import {
  Browser, CLIENT_ID, authorizationUrl, decodeJwt, pkce, postForm, signIn, startIdpOnFreePort, startWithLoopback,
} from '../harness.js';

const SERVER = new URL('../server.js', import.meta.url).pathname;

describe('refusals', () => {
  let idp;
  let loopback;
  let port;

  before(async () => {
    // the caller-picks-the-port path (other suite uses IDP_PORT=0)
    [idp, loopback] = await startWithLoopback(() => startIdpOnFreePort({ IDP_ACCESS_TOKEN_TTL: '120', IDP_COOKIE_KEY: 'test-cookie-key' }));
    ({ port } = idp);
  });
  after(async () => { await Promise.all([idp?.stop(), loopback?.close()]); });

  const authParams = (overrides = {}) => {
    const p = pkce();
    return {
      client_id: CLIENT_ID,
      response_type: 'code',
      redirect_uri: loopback.redirectUri,
      scope: 'openid profile email offline_access',
      prompt: 'consent',
      state: 'st-1',
      nonce: 'n-1',
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      ...overrides,
    };
  };

  test('issuer defaults to http://127.0.0.1:<IDP_PORT>', () => {
    assert.equal(idp.issuer, `http://127.0.0.1:${port}`);
  });

  test('wrong password: the form again with an error, no code; then the right one works', async () => {
    const hits = loopback.hits.length;
    const b = new Browser();
    const form = await b.navigate(authorizationUrl(idp.issuer, authParams()));
    assert.equal(form.status, 200);
    assert.match(form.url, /\/interaction\/[A-Za-z0-9_-]+$/);

    for (const [login, password] of [['alice', 'wrong'], ['alice', 'bob-pw'], ['nobody', 'nobody-pw'], ['alice', '']]) {
      const r = await b.request(form.url, { method: 'POST', form: { prompt: 'login', login, password } });
      assert.equal(r.status, 401, `${login}/${password}`);
      assert.equal(r.location, undefined);
      assert.match(r.text, /Invalid username or password/);
      assert.match(r.text, /name="password"/);
    }
    // consent cannot be posted before login
    const early = await b.request(form.url, { method: 'POST', form: { prompt: 'consent' } });
    assert.equal(early.status, 400);
    assert.equal(loopback.hits.length, hits, 'no redirect to the client');

    const consent = await b.navigate(form.url, { method: 'POST', form: { prompt: 'login', login: 'alice', password: 'alice-pw' } });
    assert.equal(consent.status, 200);
    assert.match(consent.text, /value="consent"/);
    const done = await b.navigate(consent.url, { method: 'POST', form: { prompt: 'consent' } });
    assert.equal(done.status, 200);
    assert.ok(loopback.hits.at(-1).code);
  });

  test('deny at the consent page → access_denied at the client', async () => {
    const b = new Browser();
    const form = await b.navigate(authorizationUrl(idp.issuer, authParams()));
    const consent = await b.navigate(form.url, { method: 'POST', form: { prompt: 'login', login: 'ava', password: 'ava-pw' } });
    const done = await b.navigate(consent.url, { method: 'POST', form: { prompt: 'abort' } });
    assert.equal(done.status, 200);
    const hit = loopback.hits.at(-1);
    assert.equal(hit.error, 'access_denied');
    assert.equal(hit.code, undefined);
  });

  test('missing PKCE and plain PKCE are refused', async () => {
    for (const overrides of [
      { code_challenge: undefined, code_challenge_method: undefined },
      { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' },
    ]) {
      const b = new Browser();
      const r = await b.request(authorizationUrl(idp.issuer, authParams(overrides)));
      // the error goes back to the (valid) redirect_uri; never a login form or a code
      assert.equal(r.status, 303);
      const back = new URL(r.location);
      assert.equal(`${back.origin}${back.pathname}`, loopback.redirectUri);
      assert.equal(back.searchParams.get('error'), 'invalid_request');
      assert.equal(back.searchParams.get('code'), null);
    }
  });

  test('code exchange without the code_verifier is refused', async () => {
    const { params } = await signIn(idp.issuer, loopback, { username: 'carl' });
    const tok = await postForm(`${idp.issuer}/token`, {
      grant_type: 'authorization_code', code: params.code, redirect_uri: loopback.redirectUri, client_id: CLIENT_ID,
    });
    assert.equal(tok.status, 400);
    assert.equal(tok.body.error, 'invalid_grant');
  });

  test('redirect_uri other than http://127.0.0.1:<any port>/callback is refused', async () => {
    for (const uri of [
      `http://evil.example:${loopback.port}/callback`,
      'https://evil.example/callback',
      `http://localhost:${loopback.port}/callback`,
      `http://127.0.0.1:${loopback.port}/other`,
      `https://127.0.0.1:${loopback.port}/callback`,
      `http://127.0.0.2:${loopback.port}/callback`,
    ]) {
      const r = await new Browser().request(authorizationUrl(idp.issuer, authParams({ redirect_uri: uri })));
      assert.equal(r.status, 400, uri);
      assert.equal(r.location, undefined, uri);
      assert.match(r.text, /redirect_uri/, uri);
    }
  });

  test('without prompt=consent, offline_access is dropped: no refresh token', async () => {
    const p = pkce();
    const b = new Browser();
    const form = await b.navigate(authorizationUrl(idp.issuer, authParams({
      prompt: undefined, code_challenge: p.challenge,
    })));
    const consent = await b.navigate(form.url, { method: 'POST', form: { prompt: 'login', login: 'cora', password: 'cora-pw' } });
    const done = await b.navigate(consent.url, { method: 'POST', form: { prompt: 'consent' } });
    assert.equal(done.status, 200);
    const tok = await postForm(`${idp.issuer}/token`, {
      grant_type: 'authorization_code', code: loopback.hits.at(-1).code, redirect_uri: loopback.redirectUri, code_verifier: p.verifier, client_id: CLIENT_ID,
    });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    assert.ok(tok.body.access_token);
    assert.equal(tok.body.expires_in, 120); // IDP_ACCESS_TOKEN_TTL
    const { exp, iat } = decodeJwt(tok.body.access_token).payload;
    assert.equal(exp - iat, 120);
    assert.equal(tok.body.refresh_token, undefined);
  });

  test('unknown interaction → 400 page', async () => {
    const r = await new Browser().request(`${idp.issuer}/interaction/doesnotexist`);
    assert.equal(r.status, 400);
  });

  test('IDP_PORT is required', () => {
    const r = spawnSync(process.execPath, [SERVER], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /IDP_PORT is required/);
  });
});

test('IDP_ISSUER and an absolute-URI IDP_AUDIENCE (then also the resource indicator)', async () => {
  const audience = 'https://api.countersign.example';
  const [idp, loopback] = await startWithLoopback(
    () => startIdpOnFreePort((port) => ({ IDP_ISSUER: `http://localhost:${port}`, IDP_AUDIENCE: audience })),
  );
  const { port } = idp;
  try {
    assert.equal(idp.issuer, `http://localhost:${port}`);
    const { params, pkce } = await signIn(idp.issuer, loopback, { username: 'andy' });
    assert.equal(params.iss, idp.issuer);
    const tok = await postForm(`${idp.issuer}/token`, {
      grant_type: 'authorization_code', code: params.code, redirect_uri: loopback.redirectUri, code_verifier: pkce.verifier, client_id: CLIENT_ID,
    });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    const at = decodeJwt(tok.body.access_token).payload;
    assert.equal(at.aud, audience);
    assert.equal(at.iss, idp.issuer);
    assert.equal(at.sub, 'staff-andy');
  } finally {
    await Promise.all([idp.stop(), loopback.close()]);
  }
});
