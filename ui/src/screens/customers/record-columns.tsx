import { createColumnHelper } from "@tanstack/react-table";
import type { CustomerUser, Invoice, Org, Payment, Vendor } from "@/bindings/types";
import { Badge } from "@/components/ui/badge";
import { MaskedValue } from "@/components/masked-value";
import { MoneyCell } from "@/components/money";
import { PaymentKindBadge, StatusBadge, paymentKindLabel } from "@/components/status-badge";
import { formatDate, formatMoney } from "@/lib/format";
import { PaymentTarget } from "./payment-target";

export const roleLabel = (role: CustomerUser["role"]) => (role === "org_admin" ? "Org admin" : "Member");

const masked = "text-muted-foreground font-mono text-xs";

// ---- users ----
const users = createColumnHelper<CustomerUser>();
export const userColumns = (org: Pick<Org, "name">) => [
  users.accessor("name", {
    header: "Name",
    meta: { width: "24%" },
    cell: (c) => <span className="font-medium">{c.getValue()}</span>,
  }),
  users.accessor("role", {
    header: "Role",
    meta: { width: "12%" },
    cell: (c) =>
      c.getValue() === "org_admin" ? (
        <Badge variant="secondary">Org admin</Badge>
      ) : (
        <span className="text-muted-foreground">Member</span>
      ),
  }),
  users.accessor((u) => u.email.masked, {
    id: "email",
    header: "E-mail",
    meta: { width: "26%" },
    cell: (c) => (
      <MaskedValue
        value={c.row.original.email}
        label="E-mail"
        recordType="user"
        recordId={c.row.original.id}
        subject={`${c.row.original.name} at ${org.name}`}
        showReveal={false}
      />
    ),
  }),
  users.accessor((u) => u.phone.masked, {
    id: "phone",
    header: "Phone",
    meta: { width: "18%" },
    cell: (c) => <span className={masked}>{c.getValue()}</span>,
  }),
  users.accessor("city", { header: "City", meta: { width: "20%" } }),
];
export const userText = (u: CustomerUser) => `${u.name} ${u.email.masked} ${u.city} ${roleLabel(u.role)}`;

// ---- invoices ----
const invoices = createColumnHelper<Invoice>();
export const invoiceColumns = () => [
  invoices.accessor("number", {
    header: "Number",
    meta: { width: "20%" },
    cell: (c) => <span className="font-mono text-[13px]">{c.getValue()}</span>,
  }),
  invoices.accessor("status", {
    header: "Status",
    meta: { width: "12%" },
    cell: (c) => <StatusBadge status={c.getValue()} />,
  }),
  invoices.accessor((i) => i.amount.amount_minor, {
    id: "amount",
    header: "Amount",
    meta: { width: "20%", align: "right" },
    cell: (c) => <MoneyCell value={c.row.original.amount} />,
  }),
  invoices.accessor("issued_at", {
    header: "Issued",
    meta: { width: "16%" },
    cell: (c) => <span className="tabular">{formatDate(c.getValue())}</span>,
  }),
  invoices.accessor("due_at", {
    header: "Due",
    meta: { width: "16%" },
    cell: (c) => <span className="tabular">{formatDate(c.getValue())}</span>,
  }),
  invoices.accessor("id", {
    header: "Reference",
    enableSorting: false,
    meta: { width: "16%" },
    cell: (c) => <span className="text-muted-foreground font-mono text-xs">{c.getValue().slice(0, 14)}</span>,
  }),
];
export const invoiceText = (i: Invoice) => `${i.number} ${i.status} ${formatMoney(i.amount)}`;

// ---- vendors ----
const vendors = createColumnHelper<Vendor>();
export const vendorColumns = () => [
  vendors.accessor("name", {
    header: "Name",
    meta: { width: "26%" },
    cell: (c) => <span className="font-medium">{c.getValue()}</span>,
  }),
  vendors.accessor((v) => v.tax_id.masked, {
    id: "tax_id",
    header: "Tax ID",
    meta: { width: "14%" },
    cell: (c) => <span className={masked}>{c.getValue()}</span>,
  }),
  vendors.accessor((v) => v.bank_account?.iban.masked ?? "", {
    id: "iban",
    header: "IBAN",
    meta: { width: "26%" },
    cell: (c) =>
      c.row.original.bank_account ? (
        <span className={masked}>{c.getValue()}</span>
      ) : (
        <span className="text-muted-foreground text-xs">No bank account</span>
      ),
  }),
  vendors.accessor((v) => v.bank_account?.bank_name ?? "", {
    id: "bank",
    header: "Bank",
    meta: { width: "18%" },
  }),
  vendors.accessor("city", { header: "City", meta: { width: "16%" } }),
];
export const vendorText = (v: Vendor) =>
  `${v.name} ${v.city} ${v.bank_account?.bank_name ?? ""} ${v.bank_account?.account_holder ?? ""}`;

// ---- payments ----
const payments = createColumnHelper<Payment>();
export const paymentColumns = () => [
  payments.accessor("kind", {
    header: "Kind",
    meta: { width: "16%" },
    cell: (c) => <PaymentKindBadge kind={c.getValue()} />,
  }),
  payments.accessor((p) => p.amount.amount_minor, {
    id: "amount",
    header: "Amount",
    meta: { width: "20%", align: "right" },
    cell: (c) => <MoneyCell value={c.row.original.amount} />,
  }),
  payments.accessor("created_at", {
    header: "Executed",
    meta: { width: "18%" },
    cell: (c) => <span className="tabular">{formatDate(c.getValue())}</span>,
  }),
  payments.accessor((p) => p.invoice_id ?? p.vendor_id ?? "", {
    id: "for",
    header: "For",
    meta: { width: "24%" },
    cell: (c) => (
      <span className="text-muted-foreground truncate text-xs">
        <PaymentTarget payment={c.row.original} />
      </span>
    ),
  }),
  payments.accessor((p) => p.approval_id ?? "", {
    id: "approval",
    header: "Approval",
    meta: { width: "22%" },
    cell: (c) =>
      c.getValue() ? (
        <span className="font-mono text-xs">{c.getValue().slice(0, 8)}</span>
      ) : (
        <span className="text-muted-foreground text-xs">None</span>
      ),
  }),
];
export const paymentText = (p: Payment) =>
  `${paymentKindLabel(p.kind)} ${formatMoney(p.amount)} ${p.approval_id ?? ""} ${p.invoice_id ?? ""} ${p.vendor_id ?? ""}`;
