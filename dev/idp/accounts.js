// Demo accounts of the dev identity provider (see API.md "Demo data and accounts").
// Password is always `<username>-pw`. `sub` is a stable opaque id, never the username or
// e-mail: `staff-<username>` for staff, `cust-<username>` for customer users. The server's
// demo seed maps exactly these subjects; do not change the convention.
import { timingSafeEqual } from 'node:crypto';

const STAFF = ['alice', 'bob', 'sam', 'carl', 'ana', 'andy', 'cora', 'ava', 'sid'];
const CUSTOMERS = ['acme-admin', 'globex-admin', 'acme-user', 'globex-user'];

const titleCase = (s) => s.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');

function account(username, kind) {
  const org = kind === 'customer' ? username.split('-')[0] : undefined;
  return Object.freeze({
    username,
    kind,
    org,
    sub: kind === 'staff' ? `staff-${username}` : `cust-${username}`,
    name: titleCase(username),
    email: kind === 'staff' ? `${username}@countersign.example` : `${username}@${org}.example`,
    password: `${username}-pw`,
  });
}

export const ACCOUNTS = Object.freeze([
  ...STAFF.map((u) => account(u, 'staff')),
  ...CUSTOMERS.map((u) => account(u, 'customer')),
]);

const bySub = new Map(ACCOUNTS.map((a) => [a.sub, a]));
const byUsername = new Map(ACCOUNTS.map((a) => [a.username, a]));

const sameString = (a, b) => {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The account for this username and password, or undefined. */
export function authenticate(username, password) {
  const a = byUsername.get(String(username ?? '').trim());
  return a && sameString(password ?? '', a.password) ? a : undefined;
}

/** oidc-provider `findAccount`. */
export async function findAccount(_ctx, sub) {
  const a = bySub.get(sub);
  if (!a) return undefined;
  return {
    accountId: a.sub,
    async claims() {
      return {
        sub: a.sub,
        name: a.name,
        preferred_username: a.username,
        email: a.email,
        email_verified: true,
      };
    },
  };
}
