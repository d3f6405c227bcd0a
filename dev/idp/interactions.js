// Login and consent pages for oidc-provider (replaces devInteractions, which ignores
// passwords). One URL per interaction, /interaction/<uid>:
//   GET                                      → 200 HTML form for the current prompt
//   POST prompt=login&login=<u>&password=<p> → 303 to /auth/<uid> on success,
//                                              401 + the form with an error otherwise
//   POST prompt=consent                      → 303 to /auth/<uid>, grants what was asked
//   POST prompt=abort                        → 303 to /auth/<uid>, ends in access_denied
// Anything else → 400 HTML page. Forms are application/x-www-form-urlencoded.
import { errors } from 'oidc-provider';

import { authenticate } from './accounts.js';

const MAX_BODY = 16 * 1024;

export const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>${esc(title)}</h1>
${body}
</main></body></html>
`;
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Frame-Options', 'DENY');
  // no form-action: browsers apply it to the redirect chain that ends at the client's loopback
  res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  res.end(html);
}

function loginForm(uid, { clientId, error, login = '' } = {}) {
  return page('Sign in', `<p>Sign in to continue to <b>${esc(clientId)}</b>.</p>
${error ? `<p role="alert" class="error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}" autocomplete="off">
<input type="hidden" name="prompt" value="login">
<p><label>Username <input name="login" value="${esc(login)}" required autofocus></label></p>
<p><label>Password <input type="password" name="password" required></label></p>
<p><button type="submit">Sign in</button></p>
</form>`);
}

function consentForm(uid, { clientId, scopes, accountId }) {
  return page('Authorize', `<p>Signed in as <b>${esc(accountId)}</b>.
<b>${esc(clientId)}</b> asks for: ${scopes.map((s) => `<code>${esc(s)}</code>`).join(' ')}</p>
<form method="post" action="/interaction/${esc(uid)}">
<input type="hidden" name="prompt" value="consent">
<button type="submit">Allow</button>
</form>
<form method="post" action="/interaction/${esc(uid)}">
<input type="hidden" name="prompt" value="abort">
<button type="submit">Deny</button>
</form>`);
}

async function readForm(req) {
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function grantConsent(provider, details) {
  const { prompt: { details: missing }, params, session: { accountId } } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  return details.grantId ? {} : { grantId };
}

/** Handles /interaction/<uid>; returns false for any other path. */
export function interactions(provider) {
  return async function handle(req, res) {
    const { pathname } = new URL(req.url, 'http://idp.invalid');
    const m = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(pathname);
    if (!m) return false;
    const uid = m[1];
    try {
      if (req.method !== 'GET' && req.method !== 'POST') {
        res.setHeader('Allow', 'GET, POST');
        send(res, 405, page('Method not allowed', ''));
        return true;
      }
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
      const { prompt, params } = details;
      const clientId = params.client_id;

      if (req.method === 'GET') {
        if (prompt.name === 'login') send(res, 200, loginForm(uid, { clientId, login: params.login_hint }));
        else if (prompt.name === 'consent') {
          const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
          send(res, 200, consentForm(uid, { clientId, scopes, accountId: details.session?.accountId }));
        } else send(res, 400, page('Unsupported prompt', `<p>${esc(prompt.name)}</p>`));
        return true;
      }

      const form = await readForm(req);
      const action = form?.get('prompt');
      if (action === 'abort') {
        await provider.interactionFinished(req, res, {
          error: 'access_denied', error_description: 'End-User denied the request',
        }, { mergeWithLastSubmission: false });
      } else if (action !== prompt.name) {
        send(res, 400, page('Bad request', `<p>expected prompt=${esc(prompt.name)}</p>`));
      } else if (action === 'login') {
        const account = authenticate(form.get('login'), form.get('password'));
        if (!account) {
          send(res, 401, loginForm(uid, { clientId, error: 'Invalid username or password.', login: form.get('login') ?? '' }));
        } else {
          await provider.interactionFinished(req, res, {
            login: { accountId: account.sub, amr: ['pwd'] },
          }, { mergeWithLastSubmission: false });
        }
      } else if (action === 'consent') {
        const consent = await grantConsent(provider, details);
        await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
      } else {
        send(res, 400, page('Bad request', '<p>unsupported prompt</p>'));
      }
    } catch (err) {
      if (!(err instanceof errors.SessionNotFound)) throw err;
      send(res, 400, page('Sign-in session not found', `<p>${esc(err.error_description ?? err.message)}</p>
<p>Start the sign-in again from the application.</p>`));
    }
    return true;
  };
}
