import { GlobeIcon, LockKeyholeIcon, LockKeyholeOpenIcon } from "lucide-react";
import type {
  ApprovalKind,
  ApprovalStatus,
  InvoiceStatus,
  PaymentKind,
  Region,
  SupportAccess,
} from "@/bindings/types";
import { Badge } from "@/components/ui/badge";

// One colour per state, everywhere (UI.md): pending amber, approved blue, executed green,
// rejected red, expired / cancelled grey. An open invoice waits (amber), a paid one is done
// (green), a void one is cancelled (grey).
const INVOICE: Record<InvoiceStatus, { label: string; variant: "amber" | "green" | "grey" }> = {
  open: { label: "Open", variant: "amber" },
  paid: { label: "Paid", variant: "green" },
  void: { label: "Void", variant: "grey" },
};

export function StatusBadge({ status }: { status: InvoiceStatus }) {
  const s = INVOICE[status];
  return (
    <Badge variant={s.variant} data-status={status}>
      {s.label}
    </Badge>
  );
}

const KIND: Record<PaymentKind, string> = {
  refund: "Refund",
  credit_note: "Credit note",
  payout: "Payout",
};

export function paymentKindLabel(kind: PaymentKind): string {
  return KIND[kind];
}

export function PaymentKindBadge({ kind }: { kind: PaymentKind }) {
  return <Badge variant="outline">{KIND[kind]}</Badge>;
}

export function RegionBadge({ region }: { region: Region }) {
  return (
    <Badge variant="outline" className="font-mono" aria-label={`Region ${region}`}>
      <GlobeIcon aria-hidden="true" />
      {region}
    </Badge>
  );
}

export function supportAccessLabel(mode: SupportAccess): string {
  return mode === "open" ? "Open" : "Consent required";
}

export function SupportAccessBadge({ mode }: { mode: SupportAccess }) {
  return (
    <Badge variant="outline" aria-label={`Support access: ${supportAccessLabel(mode)}`}>
      {mode === "open" ? (
        <LockKeyholeOpenIcon aria-hidden="true" />
      ) : (
        <LockKeyholeIcon aria-hidden="true" />
      )}
      {supportAccessLabel(mode)}
    </Badge>
  );
}

const APPROVAL: Record<ApprovalStatus, { label: string; variant: "amber" | "blue" | "green" | "red" | "grey" }> = {
  pending: { label: "Pending", variant: "amber" },
  approved: { label: "Approved", variant: "blue" },
  executed: { label: "Executed", variant: "green" },
  rejected: { label: "Rejected", variant: "red" },
  cancelled: { label: "Cancelled", variant: "grey" },
  expired: { label: "Expired", variant: "grey" },
};

export function approvalStatusLabel(status: ApprovalStatus): string {
  return APPROVAL[status].label;
}

export function ApprovalStatusBadge({ status }: { status: ApprovalStatus }) {
  const s = APPROVAL[status];
  return (
    <Badge variant={s.variant} data-status={status}>
      {s.label}
    </Badge>
  );
}

const APPROVAL_KIND: Record<ApprovalKind, string> = {
  refund: "Refund",
  credit_note: "Credit note",
  vendor_bank_change: "Vendor bank change",
  payout_release: "Payout release",
  data_export: "Data export",
};

export function approvalKindLabel(kind: ApprovalKind): string {
  return APPROVAL_KIND[kind];
}
