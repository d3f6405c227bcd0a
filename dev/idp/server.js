// Countersign development/test OpenID provider (panva/oidc-provider). Configured only by
// environment; see README.md. Prints `idp listening on <issuer>` once it accepts requests.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

import { findAccount } from './accounts.js';
import { esc, interactions, page } from './interactions.js';

const env = process.env;
const fail = (msg) => { console.error(`idp: ${msg}`); process.exit(2); };
const seconds = (name, dflt) => {
  const v = env[name] === undefined || env[name] === '' ? dflt : Number(env[name]);
  return Number.isSafeInteger(v) && v > 0 ? v : fail(`${name} must be a positive integer`);
};

const HOST = env.IDP_HOST || '127.0.0.1';
if (!/^\d+$/.test(env.IDP_PORT ?? '') || Number(env.IDP_PORT) > 65535) fail('IDP_PORT is required (0 = any free port)');
const AUDIENCE = env.IDP_AUDIENCE || 'countersign-api';
// Resource indicators must be absolute URIs (RFC 8707); the audience need not be one.
const RESOURCE = env.IDP_RESOURCE || (URL.canParse(AUDIENCE) ? AUDIENCE : 'urn:countersign:api');
if (!URL.canParse(RESOURCE)) fail('IDP_RESOURCE must be an absolute URI');
if (env.IDP_ISSUER && !/^https?:\/\/[^/?#]+$/.test(env.IDP_ISSUER)) fail('IDP_ISSUER must be an http(s) origin without a path or trailing slash');
const AT_TTL = seconds('IDP_ACCESS_TOKEN_TTL', 600);
const RT_TTL = seconds('IDP_REFRESH_TOKEN_TTL', 14 * 24 * 3600);
const COOKIE_KEY = env.IDP_COOKIE_KEY || randomBytes(32).toString('base64url');
// Like company providers that do not grant offline_access to native apps.
if (!['', '0', '1', undefined].includes(env.IDP_NO_REFRESH)) fail('IDP_NO_REFRESH must be 0 or 1');
const NO_REFRESH = env.IDP_NO_REFRESH === '1';
// Like providers that refuse token revocation from public clients (401): the
// app must sign out and wipe anyway.
if (!['', 'refuse', undefined].includes(env.IDP_REVOCATION)) fail('IDP_REVOCATION must be empty or "refuse"');
const REFUSE_REVOCATION = env.IDP_REVOCATION === 'refuse';

function signingKey() {
  let key;
  if (env.IDP_KEY_FILE) {
    try { key = createPrivateKey(readFileSync(env.IDP_KEY_FILE)); } catch (err) { fail(`IDP_KEY_FILE: ${err.message}`); }
  } else {
    console.error('idp: IDP_KEY_FILE not set, using an ephemeral RSA key');
    key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  }
  if (key.asymmetricKeyType !== 'rsa') fail('IDP_KEY_FILE must hold an RSA private key');
  const jwk = key.export({ format: 'jwk' });
  // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
  const kid = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url');
  return { ...jwk, kid, use: 'sig', alg: 'RS256' };
}

const JWK = signingKey();

function configuration() {
  return {
    clients: [{
      client_id: 'countersign-desktop',
      client_name: 'Countersign desktop',
      application_type: 'native', // loopback redirect_uris then match on any port (RFC 8252 §7.3)
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/callback'],
      post_logout_redirect_uris: ['http://127.0.0.1/logout'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }],
    jwks: { keys: [JWK] },
    cookies: { keys: [COOKIE_KEY] },
    findAccount,
    responseTypes: ['code'],
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true }, // oidc-provider 9 only implements S256; plain is refused
    rotateRefreshToken: true, // every refresh rotates; reuse of a used one revokes the grant
    issueRefreshToken: async (_ctx, client, source) =>
      !NO_REFRESH && client.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access'),
    allowOmittingSingleRegisteredRedirectUri: false,
    clientBasedCORS: () => false,
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', Object.entries(out).map(([k, v]) => `<p>${esc(k)}: <code>${esc(v)}</code></p>`).join('\n'));
    },
    ttl: {
      AccessToken: AT_TTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: RT_TTL,
      Grant: RT_TTL,
      Session: 24 * 3600,
      Interaction: 3600,
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false }, // access tokens are for the API; claims are in the ID token
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page('Sign out', `<p>Sign out of the identity provider?</p>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        postLogoutSuccessSource: async (ctx) => { ctx.body = page('Signed out', '<p>You are signed out.</p>'); },
      },
      resourceIndicators: {
        enabled: true,
        // No `resource` parameter → the API. Also used on code exchange and refresh.
        defaultResource: async (_ctx, _client, oneOf) => (oneOf ? (oneOf.includes(RESOURCE) ? RESOURCE : oneOf) : RESOURCE),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget();
          return {
            // The OIDC scopes count for the API too, so access tokens and token responses
            // carry the granted scope (else `scope` would be "" unless `api` is asked for).
            scope: 'openid profile email offline_access api',
            audience: AUDIENCE,
            accessTokenTTL: AT_TTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  };
}

const server = http.createServer();
server.listen(Number(env.IDP_PORT), HOST, () => {
  const { port } = server.address();
  const host = HOST.includes(':') ? `[${HOST}]` : HOST;
  const issuer = env.IDP_ISSUER || `http://${host}:${port}`;
  const provider = new Provider(issuer, configuration());
  provider.on('server_error', (_ctx, err) => console.error('idp: server_error', err));
  const interaction = interactions(provider);
  const callback = provider.callback();
  server.on('request', async (req, res) => {
    try {
      if (REFUSE_REVOCATION && req.method === 'POST' && new URL(req.url, issuer).pathname === '/token/revocation') {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="idp"' });
        res.end(JSON.stringify({ error: 'invalid_client', error_description: 'public clients may not revoke tokens' }));
        return;
      }
      if (!(await interaction(req, res))) callback(req, res);
    } catch (err) {
      console.error('idp: interaction error', err);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    }
  });
  console.log(`idp listening on ${issuer}`);
});
server.on('error', (err) => fail(err.message));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
