// Demo helper: signs in at the dev provider like a browser and prints an
// access token for the API, for trying the API with curl:
//   TOKEN=$(node dev/idp/token.js alice)
// Issuer from COUNTERSIGN_ISSUER (as written to .stack/env). Development only.
import { signIn, startLoopback, postForm, CLIENT_ID } from './harness.js';

const [username, password] = process.argv.slice(2);
const issuer = process.env.COUNTERSIGN_ISSUER;
if (!username || !issuer) {
  console.error('usage: COUNTERSIGN_ISSUER=... node dev/idp/token.js <username> [password]');
  process.exit(2);
}
const loopback = await startLoopback();
try {
  const { params, pkce } = await signIn(issuer, loopback, { username, ...(password ? { password } : {}) });
  const { status, body } = await postForm(new URL('/token', issuer).href, {
    grant_type: 'authorization_code', code: params.code, redirect_uri: loopback.redirectUri,
    code_verifier: pkce.verifier, client_id: CLIENT_ID,
  });
  if (status !== 200) throw new Error(`token endpoint answered ${status}`);
  process.stdout.write(`${body.access_token}\n`);
} catch (e) {
  console.error(`sign-in failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await loopback.close();
}
