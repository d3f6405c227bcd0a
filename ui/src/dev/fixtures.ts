/**
 * Deterministic demo data shaped like the server's (API.md, "Demo data"): used by the tests
 * and by the browser-only preview build. Never part of the production bundle.
 */
import type {
  Approval,
  AuditEvent,
  ImpersonationSession,
  AccountView,
  CustomerUser,
  Invoice,
  InvoiceStatus,
  Masked,
  Org,
  Payment,
  PaymentKind,
  Permission,
  Provider,
  Region,
  ServerInfo,
  StaffMember,
  StaffRole,
  Vendor,
} from "@/bindings/types";

export type Dataset = {
  orgs: Org[];
  users: CustomerUser[];
  invoices: Invoice[];
  vendors: Vendor[];
  payments: Payment[];
};

/** mulberry32: a small seeded PRNG so the data is the same on every run. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}

const FIRST = ["Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Katrin", "Lukas", "Mia", "Noah", "Olivia", "Paul", "Rosa", "Sofia", "Tim", "Vera", "Jane", "Marco", "Lena", "Omar"];
const LAST = ["Schmidt", "Müller", "Weber", "Fischer", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Doe", "Rossi", "Dubois", "Novak", "Jensen", "Silva"];
const CITIES: Record<Region, string[]> = {
  EU: ["Berlin", "Munich", "Hamburg", "Vienna", "Amsterdam", "Paris", "Lyon", "Milan", "Madrid", "Lisbon", "Dublin", "Prague"],
  US: ["New York", "Chicago", "Austin", "Denver", "Seattle", "Boston", "Atlanta", "Portland", "Phoenix", "San Diego"],
};
const VENDOR_WORDS = ["Nordic", "Alpine", "Harbor", "Summit", "Atlas", "Beacon", "Cobalt", "Delta", "Evergreen", "Granite", "Juniper", "Keystone", "Meridian", "Pioneer", "Quarry", "Redwood"];
const VENDOR_KINDS = ["Logistics", "Supplies", "Consulting", "Software", "Print", "Catering", "Cleaning", "Hardware", "Freight", "Security"];
const BANKS: Record<Region, string[]> = {
  EU: ["Deutsche Bank", "Commerzbank", "ING", "BNP Paribas", "Santander", "Erste Bank"],
  US: ["Chase", "Bank of America", "Wells Fargo", "Citibank", "US Bank"],
};
const ORG_WORDS = ["Apex", "Blue", "Crest", "Dune", "Ember", "Fjord", "Glade", "Helix", "Iris", "Jade", "Kite", "Lumen", "Mosaic", "Nimbus", "Orbit", "Prism", "Quill", "Rune", "Sable", "Tide", "Umber", "Vale", "Willow", "Zephyr"];
const ORG_SUFFIX = ["Labs", "Works", "Group", "Systems", "Partners", "Trading", "Health", "Foods", "Energy", "Media"];

export const SEED_ORGS: { slug: string; name: string; region: Region; support_access: "open" | "consent" }[] = [
  { slug: "acme", name: "Acme GmbH", region: "EU", support_access: "open" },
  { slug: "globex", name: "Globex SE", region: "EU", support_access: "consent" },
  { slug: "initech", name: "Initech Inc.", region: "US", support_access: "open" },
  { slug: "umbrella", name: "Umbrella Corp.", region: "US", support_access: "consent" },
];

function uuid(r: ReturnType<typeof rng>): string {
  const hex = () => Math.floor(r.next() * 16).toString(16);
  const part = (n: number) => Array.from({ length: n }, hex).join("");
  return `${part(8)}-${part(4)}-4${part(3)}-a${part(3)}-${part(12)}`;
}

function masked(value: string, field: string, revealable = true): Masked {
  return { masked: value, field, revealable };
}

const DAY = 86_400_000;
const BASE_TIME = Date.parse("2026-06-01T09:00:00Z");

export type DatasetShape = {
  /** Generated orgs beside the four seeded ones. */
  extraOrgs?: number;
  users?: number;
  invoices?: number;
  vendors?: number;
  payments?: number;
  /** Rows for the first org's invoices (e.g. 100,000 to try the grids). */
  bigInvoices?: number;
  seed?: number;
};

export function makeDataset(shape: DatasetShape = {}): Dataset {
  const r = rng(shape.seed ?? 7);
  const { extraOrgs = 0, users = 8, invoices = 24, vendors = 6, payments = 10 } = shape;
  const orgs: Org[] = SEED_ORGS.map((o, i) => ({
    id: `org-${o.slug}`,
    ...o,
    created_at: new Date(BASE_TIME - (400 + i * 30) * DAY).toISOString(),
  }));
  for (let i = 0; i < extraOrgs; i++) {
    const name = `${r.pick(ORG_WORDS)} ${r.pick(ORG_SUFFIX)}`;
    const slug = `${name.toLowerCase().replace(/[^a-z]+/g, "-")}-${i + 1}`;
    orgs.push({
      id: `org-${slug}`,
      slug,
      name: `${name} ${i + 1}`,
      region: r.next() < 0.55 ? "EU" : "US",
      support_access: r.next() < 0.7 ? "open" : "consent",
      created_at: new Date(BASE_TIME - r.int(10, 900) * DAY).toISOString(),
    });
  }

  const data: Dataset = { orgs, users: [], invoices: [], vendors: [], payments: [] };
  orgs.forEach((org, orgIndex) => {
    const cities = CITIES[org.region];
    const currency = org.region === "EU" ? "EUR" : "USD";
    const domain = `${org.slug.replace(/-\d+$/, "")}.example`;
    for (let i = 0; i < users; i++) {
      const first = r.pick(FIRST);
      const last = r.pick(LAST);
      data.users.push({
        id: `user-${org.slug}-${i + 1}`,
        org_id: org.id,
        name: `${first} ${last}`,
        email: masked(`${first[0]!.toLowerCase()}***@${domain}`, "email"),
        phone: masked(`•••• ••${r.int(10, 99)}`, "phone", i % 5 !== 4),
        address: masked("•••••••• ••", "address"),
        city: r.pick(cities),
        role: i === 0 ? "org_admin" : "member",
      });
    }
    const invoiceCount = orgIndex === 0 && shape.bigInvoices ? shape.bigInvoices : invoices;
    for (let i = 0; i < invoiceCount; i++) {
      const issued = BASE_TIME - r.int(0, 720) * DAY;
      const roll = r.next();
      const status: InvoiceStatus = roll < 0.25 ? "open" : roll < 0.93 ? "paid" : "void";
      data.invoices.push({
        id: `inv-${org.slug}-${i + 1}`,
        org_id: org.id,
        number: `${org.slug.slice(0, 3).toUpperCase()}-${String(2024_00000 + i + 1)}`,
        amount: { amount_minor: r.int(1_500, 4_800_000), currency },
        status,
        issued_at: new Date(issued).toISOString(),
        due_at: new Date(issued + 30 * DAY).toISOString(),
      });
    }
    for (let i = 0; i < vendors; i++) {
      const country = org.region === "EU" ? r.pick(["DE", "AT", "NL", "FR"]) : "US";
      const name = `${r.pick(VENDOR_WORDS)} ${r.pick(VENDOR_KINDS)}`;
      data.vendors.push({
        id: `vendor-${org.slug}-${i + 1}`,
        org_id: org.id,
        name,
        tax_id: masked(`•••• ${r.int(1000, 9999)}`, "tax_id"),
        address: masked("•••••••• ••", "address"),
        city: r.pick(cities),
        bank_account:
          i % 4 === 3
            ? null
            : {
                iban: masked(
                  country === "US"
                    ? `•••• •••• ${r.int(1000, 9999)}`
                    : `${country}${r.int(10, 99)} •••• •••• •••• ••${r.int(10, 99)} ${r.int(10, 99)}`,
                  "iban",
                ),
                bank_name: r.pick(BANKS[org.region]),
                account_holder: name,
              },
      });
    }
    for (let i = 0; i < payments; i++) {
      const kind: PaymentKind = r.pick(["refund", "credit_note", "payout"] as const);
      const vendor = data.vendors[data.vendors.length - 1 - (i % vendors)];
      const invoice = data.invoices[data.invoices.length - 1 - (i % Math.max(1, invoiceCount))];
      data.payments.push({
        id: `pay-${org.slug}-${i + 1}`,
        org_id: org.id,
        kind,
        amount: { amount_minor: r.int(2_000, 1_200_000), currency },
        approval_id: kind === "payout" || i % 3 === 0 ? uuid(r) : null,
        ...(kind === "payout" && vendor ? { vendor_id: vendor.id } : {}),
        ...(kind !== "payout" && invoice ? { invoice_id: invoice.id } : {}),
        created_at: new Date(BASE_TIME - r.int(0, 300) * DAY).toISOString(),
      });
    }
  });
  return data;
}

export const READ_PERMISSIONS: Permission[] = [
  "orgs:read",
  "users:read",
  "invoices:read",
  "vendors:read",
  "payments:read",
];

export const PROVIDERS: Provider[] = [
  {
    name: "Countersign Staff ID",
    issuer: "http://127.0.0.1:9000",
    client_id: "countersign-desktop",
    audience: "countersign-api",
    scopes: ["openid", "profile", "email", "offline_access"],
    redirect_ports: [],
  },
];

/**
 * A second, independent provider (as dev/glewlwyd runs one): contractors sign in there, and a
 * first sign-in creates an account waiting for access (just-in-time provisioning).
 */
export const CONTRACTOR_PROVIDER: Provider = {
  name: "Contractors (Glewlwyd)",
  issuer: "http://127.0.0.1:4593/api/oidc",
  client_id: "countersign-desktop",
  audience: "https://countersign.bank.example/api",
  scopes: ["openid", "profile", "email", "offline_access"],
  redirect_ports: [53682, 53683],
};

export function makeServer(overrides: Partial<ServerInfo> = {}): ServerInfo {
  return {
    url: "https://countersign.bank.example",
    source: "user_config",
    providers: PROVIDERS,
    min_client_version: "0.1.0",
    server_version: "0.1.0",
    ...overrides,
  };
}

export function makeAccount(overrides: Partial<AccountView> = {}): AccountView {
  return {
    issuer: "http://127.0.0.1:9000",
    subject: "alice",
    display_name: "Alice Martin",
    email: "alice@staff.example",
    roles: ["support_agent"],
    permissions: [...READ_PERMISSIONS, "pii:reveal"],
    scope: { all_orgs: false, regions: ["EU"], org_ids: [] },
    persistence: "keyring",
    persistence_reason: null,
    ...overrides,
  };
}

/** The value a reveal returns in the demo: plausible, and never in the dataset itself. */
export function revealedValueFor(field: string, recordId: string): string {
  const n = recordId.replace(/\D/g, "").padStart(4, "0").slice(-4);
  switch (field) {
    case "email":
      return `jane.doe.${n}@customer.example`;
    case "phone":
      return `+49 30 5550 ${n}`;
    case "address":
      return `Friedrichstraße ${Number(n) % 200 || 12}`;
    case "iban":
      return `DE89 3704 0044 0532 01${n.slice(0, 2)} ${n.slice(2)}`;
    case "tax_id":
      return `DE${n}81234`;
    default:
      return `value-${n}`;
  }
}

/** The signed-in staff member's id in the demo approvals (what `requester_id` is when "Requested by me"). */
export const ME_STAFF_ID = "staff-me";

const HOUR = 3_600_000;

/**
 * Approvals as the server shows them to an approver with a 10,000.00 EUR limit: some to
 * decide (one over the limit, one in GBP), one of the user's own, and a history. `now`
 * anchors the times, so relative times and expiries read right in the preview.
 */
export function makeApprovals(data: Dataset, now: number = Date.now()): Approval[] {
  const org = data.orgs[0]!;
  const invoice = (i: number) => data.invoices.filter((x) => x.org_id === org.id)[i]?.id ?? `invoice-${i}`;
  const at = (hoursAgo: number) => new Date(now - hoursAgo * HOUR).toISOString();
  const rule = (approvals: number, description: string, one_of_role: string | null = null) => ({
    approvals,
    one_of_role,
    permission: "approvals:decide",
    description,
  });
  const base = {
    org_id: org.id,
    payload: {},
    version: 1,
    policy_version: "2026-06",
    execution_result: null,
    amount_base: null,
    exchange_rate: null,
    can_decide: false,
  } as const;
  const eur = (minor: number) => ({ amount_minor: minor, currency: "EUR" });
  return [
    {
      ...base,
      id: "appr-refund-1200",
      kind: "refund",
      target_id: invoice(0),
      amount: eur(120_000),
      amount_base: eur(120_000),
      reason: "Customer charged twice for the May invoice",
      status: "pending",
      requester_id: "staff-carl",
      required: [rule(2, "2 distinct approvers")],
      decisions: [],
      expires_at: at(-70),
      created_at: at(2),
      can_decide: true,
    },
    {
      ...base,
      id: "appr-credit-gbp",
      kind: "credit_note",
      target_id: invoice(1),
      amount: { amount_minor: 45_000, currency: "GBP" },
      amount_base: eur(52_650),
      exchange_rate: "1.17",
      reason: "Goodwill credit after the outage of 12 May",
      status: "pending",
      requester_id: "staff-carl",
      required: [rule(1, "1 approver")],
      decisions: [],
      expires_at: at(-40),
      created_at: at(5),
      can_decide: true,
    },
    {
      ...base,
      id: "appr-refund-30000",
      kind: "refund",
      target_id: invoice(2),
      amount: eur(3_000_000),
      amount_base: eur(3_000_000),
      reason: "Contract terminated: refund of the annual prepayment",
      status: "pending",
      requester_id: "staff-carl",
      required: [rule(2, "2 distinct approvers, at least one finance_controller", "finance_controller")],
      decisions: [
        {
          approver_id: "staff-ana",
          approver_name: "Ana Costa",
          on_behalf_of: null,
          decision: "approve",
          comment: "Termination letter checked",
          version_seen: 1,
          current: true,
          at: at(1),
        },
      ],
      expires_at: at(-20),
      created_at: at(26),
      cannot_decide: {
        code: "approval_limit_exceeded",
        message: "30,000.00 EUR is above your approval limit of 10,000.00 EUR.",
      },
    },
    {
      ...base,
      id: "appr-bank-mine",
      kind: "vendor_bank_change",
      target_id: `vendor-${org.slug}-1`,
      amount: null,
      payload: {
        iban: { masked: "DE•• •••• •••• •••• ••89 01", field: "iban", revealable: false },
        bank_name: "Commerzbank",
        account_holder: "Northwind Logistics GmbH",
      },
      reason: "Vendor sent a signed letter with the new account",
      status: "pending",
      requester_id: ME_STAFF_ID,
      required: [rule(2, "2 distinct approvers, at least one finance_controller", "finance_controller")],
      decisions: [],
      expires_at: at(-60),
      created_at: at(3),
      cannot_decide: {
        code: "self_approval_forbidden",
        message: "You requested this yourself: another approver has to decide it.",
      },
    },
    {
      ...base,
      id: "appr-refund-80",
      kind: "refund",
      target_id: invoice(3),
      amount: eur(8_000),
      amount_base: eur(8_000),
      reason: "Late delivery fee waived",
      status: "executed",
      requester_id: "staff-carl",
      required: [rule(1, "1 approver")],
      decisions: [
        {
          approver_id: ME_STAFF_ID,
          approver_name: "Alice Martin",
          on_behalf_of: null,
          decision: "approve",
          comment: "",
          version_seen: 1,
          current: true,
          at: at(47),
        },
      ],
      expires_at: at(-24),
      created_at: at(48),
      execution_result: { payment_id: "payment-4711" },
      cannot_decide: { code: "not_pending", message: "This request is executed: nothing is left to decide." },
    },
    {
      ...base,
      id: "appr-payout-rejected",
      kind: "payout_release",
      target_id: `vendor-${org.slug}-2`,
      amount: eur(540_000),
      amount_base: eur(540_000),
      reason: "Quarterly payout",
      status: "rejected",
      requester_id: "staff-carl",
      required: [rule(2, "2 distinct approvers")],
      decisions: [
        {
          approver_id: "staff-ana",
          approver_name: "Ana Costa",
          on_behalf_of: null,
          decision: "reject",
          comment: "The vendor's bank change is still pending",
          version_seen: 1,
          current: true,
          at: at(70),
        },
      ],
      expires_at: at(2),
      created_at: at(72),
      cannot_decide: { code: "not_pending", message: "This request is rejected: nothing is left to decide." },
    },
    {
      ...base,
      id: "appr-export-expired",
      kind: "data_export",
      target_id: org.id,
      amount: null,
      reason: "Customer asked for a copy of their data (GDPR art. 15)",
      status: "expired",
      requester_id: "staff-carl",
      required: [rule(1, "1 approver with audit:export")],
      decisions: [],
      expires_at: at(100),
      created_at: at(172),
      cannot_decide: { code: "request_expired", message: "This request expired before anyone decided it." },
    },
  ];
}

/**
 * The demo's staff (API.md, demo accounts) as a security admin sees them; `sid` is the admin.
 * `now` anchors last activity: bob has not been seen for 41 days, ava never.
 */
export function makeStaff(now: number = Date.now()): StaffMember[] {
  const issuer = "http://127.0.0.1:9000";
  const day = 24 * HOUR;
  const seen = (daysAgo: number) => new Date(now - daysAgo * day).toISOString();
  const member = (
    subject: string,
    display_name: string,
    roles: StaffRole[],
    last: string | null,
    extra: Partial<StaffMember> = {},
  ): StaffMember => ({
    id: `staff-${subject}`,
    issuer,
    subject,
    display_name,
    email: `${subject}@staff.example`,
    roles,
    scope: { all_orgs: true, regions: [], org_ids: [] },
    approval_limits: {},
    permission_epoch: 3,
    active: true,
    last_active_at: last,
    deactivated_at: null,
    deactivation_reason: null,
    ...extra,
  });
  return [
    member("alice", "Alice Martin", ["support_agent"], seen(0.1), { scope: { all_orgs: false, regions: ["EU"], org_ids: [] } }),
    member("bob", "Bob Stone", ["support_agent"], seen(41), { scope: { all_orgs: false, regions: ["US"], org_ids: [] } }),
    member("sam", "Sam Okafor", ["support_supervisor"], seen(1)),
    member("carl", "Carl Weber", ["finance_clerk"], seen(2)),
    member("andy", "Andy Novak", ["finance_approver"], seen(3), {
      approval_limits: { refund: { amount_minor: 1_000_000, currency: "EUR" }, credit_note: { amount_minor: 1_000_000, currency: "EUR" } },
    }),
    member("cora", "Cora Lindqvist", ["finance_controller"], seen(0.5)),
    member("ava", "Ava Reyes", ["auditor"], null),
    member("sid", "Sid Patel", ["security_admin"], seen(0)),
    member("dan", "Dan Miller", ["support_agent"], seen(90), {
      active: false,
      deactivated_at: seen(60),
      deactivation_reason: "INC-1182: left the company",
    }),
  ];
}

/**
 * Support sessions as a supervisor sees them: one write session waiting for approval, two
 * ended and unreviewed (one with a timeline of what the agent did), one reviewed OK.
 */
export function makeSessions(data: Dataset, now: number = Date.now()): ImpersonationSession[] {
  const org = data.orgs[0]!;
  // A dataset without users (a table test) still gets sessions, on a user it does not hold.
  const userId = data.users.find((u) => u.org_id === org.id)?.id ?? `user-${org.slug}-1`;
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  const base = {
    org_id: org.id,
    subject_user_id: userId,
    end_reason: null,
    review_note: null,
    started_at: null,
    expires_at: null,
    ended_at: null,
  } as const;
  const event = (seq: number, minutesAgo: number, action: string, outcome: AuditEvent["outcome"], extra: Partial<AuditEvent> = {}): AuditEvent => ({
    seq,
    id: `evt-${seq}`,
    at: at(minutesAgo),
    actor: { issuer: "http://127.0.0.1:9000", subject: "staff-alice", kind: "staff" },
    on_behalf_of: null,
    impersonation_id: "sess-ended-alice",
    org_id: org.id,
    action,
    target_type: null,
    target_id: null,
    outcome,
    code: null,
    reason: null,
    request_id: `req-${seq}`,
    ip: "10.0.0.12",
    user_agent: "Countersign/0.1.0",
    details: {},
    prev_hash: `${(seq - 1).toString(16).padStart(2, "0")}`.repeat(32),
    hash: `${seq.toString(16).padStart(2, "0")}`.repeat(32),
    ...extra,
  });
  return [
    {
      ...base,
      id: "sess-waiting-bob",
      agent_id: "staff-bob",
      agent_name: "Bob Stone",
      reason: "Customer cannot change their phone number",
      ticket_ref: "SUP-2210",
      scope: "write",
      duration_minutes: 20,
      status: "pending_approval",
      requested_at: at(3),
      review: "unreviewed",
    },
    {
      ...base,
      id: "sess-ended-alice",
      agent_id: "staff-alice",
      agent_name: "Alice Martin",
      reason: "Customer reports a wrong invoice total",
      ticket_ref: "SUP-1234",
      scope: "read",
      duration_minutes: 15,
      status: "ended",
      requested_at: at(95),
      started_at: at(95),
      expires_at: at(80),
      ended_at: at(88),
      end_reason: "ended",
      review: "unreviewed",
      timeline: [
        event(101, 95, "impersonation.start", "success", { target_type: "user", target_id: userId, reason: "Customer reports a wrong invoice total" }),
        event(102, 93, "invoices.list", "success", { target_type: "org", target_id: org.id }),
        event(103, 91, "reveal", "denied", { code: "not_while_impersonating", target_type: "user", target_id: userId }),
        event(104, 88, "impersonation.end", "success"),
      ],
    },
    {
      ...base,
      id: "sess-expired-bob",
      agent_id: "staff-bob",
      agent_name: "Bob Stone",
      reason: "Walkthrough of the billing page with the customer",
      ticket_ref: "SUP-1999",
      scope: "read",
      duration_minutes: 10,
      status: "expired",
      requested_at: at(300),
      started_at: at(300),
      expires_at: at(290),
      review: "unreviewed",
    },
    {
      ...base,
      id: "sess-ok-alice",
      agent_id: "staff-alice",
      agent_name: "Alice Martin",
      reason: "Customer asked to resend the March invoice",
      ticket_ref: "SUP-1102",
      scope: "write",
      duration_minutes: 15,
      status: "ended",
      requested_at: at(2000),
      started_at: at(1990),
      expires_at: at(1975),
      ended_at: at(1980),
      end_reason: "ended",
      review: "ok",
      review_note: "Resend only, as the ticket asked",
    },
  ];
}

/** An account a first sign-in created (no role), and when that was: the `staff.provisioned` event's time. */
export type PendingAccount = { member: StaffMember; signedInAt: string };

/** Two people waiting for access, one at each demo provider (`now` anchors their first sign-in). */
export function makePendingStaff(now: number = Date.now()): PendingAccount[] {
  const pending = (
    subject: string,
    issuer: string,
    display_name: string,
    email: string,
    hoursAgo: number,
  ): PendingAccount => ({
    member: {
      id: `staff-${subject.slice(0, 8)}`,
      issuer,
      subject,
      display_name,
      email,
      roles: [],
      scope: { all_orgs: false, regions: [], org_ids: [] },
      approval_limits: {},
      permission_epoch: 1,
      active: true,
      last_active_at: null,
      deactivated_at: null,
      deactivation_reason: null,
    },
    signedInAt: new Date(now - hoursAgo * HOUR).toISOString(),
  });
  return [
    pending("5c1d9e0a-priya", CONTRACTOR_PROVIDER.issuer, "Priya Shah", "priya.shah@contractor.example", 2),
    pending("tom", PROVIDERS[0]!.issuer, "Tom Berg", "tom@staff.example", 27),
  ];
}
