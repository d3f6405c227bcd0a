import { useState, type ReactNode } from "react";
import { Link } from "@tanstack/react-router";
import { useQuery } from "@tanstack/react-query";
import { HeadsetIcon, PauseCircleIcon, SendIcon } from "lucide-react";
import type { CustomerUser, Invoice, Org, Payment, Vendor } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import {
  Sheet,
  SheetContent,
  SheetDescription,
  SheetHeader,
  SheetTitle,
} from "@/components/ui/sheet";
import { MaskedValue } from "@/components/masked-value";
import { MoneyCell } from "@/components/money";
import { PaymentKindBadge, StatusBadge, paymentKindLabel } from "@/components/status-badge";
import { formatDate, formatDateTime } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";
import { pendingBankChangeQuery } from "@/screens/approvals/queries";
import { RequestDialog, type RequestTarget } from "@/screens/approvals/request-dialog";
import { roleLabel } from "./record-columns";
import type { OrgTab } from "./search";
import { PaymentTarget } from "./payment-target";
import { StartSupportDialog } from "@/screens/support/start-support-dialog";
import { useSupport } from "@/screens/support/queries";

export type OpenRecord =
  | { tab: "users"; row: CustomerUser }
  | { tab: "invoices"; row: Invoice }
  | { tab: "vendors"; row: Vendor }
  | { tab: "payments"; row: Payment };

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[8rem_minmax(0,1fr)] items-center gap-3 py-2">
      <dt className="text-muted-foreground text-sm">{label}</dt>
      <dd className="min-w-0 text-sm">{children}</dd>
    </div>
  );
}

/** A row's detail: a side sheet; masked values carry their Reveal buttons here. */
export function RecordSheet({
  org,
  record,
  onClose,
  onCloseAutoFocus,
}: {
  org: Org;
  record: OpenRecord | null;
  onClose: () => void;
  onCloseAutoFocus?: (e: Event) => void;
}) {
  return (
    <Sheet open={!!record} onOpenChange={(open) => !open && onClose()}>
      <SheetContent
        className="w-full gap-0 sm:max-w-lg"
        data-testid="record-detail"
        onCloseAutoFocus={onCloseAutoFocus}
      >
        {record && <Body org={org} record={record} />}
      </SheetContent>
    </Sheet>
  );
}

const KIND_WORDS: Record<OrgTab, string> = {
  users: "Customer user",
  invoices: "Invoice",
  vendors: "Vendor",
  payments: "Payment",
};

function Body({ org, record }: { org: Org; record: OpenRecord }) {
  const title =
    record.tab === "users" || record.tab === "vendors"
      ? record.row.name
      : record.tab === "invoices"
        ? `Invoice ${record.row.number}`
        : `${paymentKindLabel(record.row.kind)}`;
  return (
    <>
      <SheetHeader className="border-b pr-12">
        <SheetTitle className="text-base">{title}</SheetTitle>
        <SheetDescription>
          {KIND_WORDS[record.tab]} at {org.name}
        </SheetDescription>
      </SheetHeader>
      <div className="flex-1 overflow-auto px-4 py-2">
        {record.tab === "vendors" && <PayoutHold org={org} vendor={record.row} />}
        <dl className="divide-y">{fields(org, record)}</dl>
      </div>
      {record.tab === "users" && <SupportAction org={org} user={record.row} />}
      <RequestActions org={org} record={record} />
    </>
  );
}

/** The requests one can make about this record: refund or credit note of an invoice; bank change or payout for a vendor. */
function RequestActions({ org, record }: { org: Org; record: OpenRecord }) {
  const { can } = useAccount();
  const { offline } = useSyncState();
  const [target, setTarget] = useState<RequestTarget | null>(null);
  if (!can("approvals:request")) return null;
  const actions: { label: string; target: RequestTarget }[] =
    record.tab === "invoices"
      ? [
          { label: "Request refund…", target: { kind: "refund", org, invoice: record.row } },
          { label: "Request credit note…", target: { kind: "credit_note", org, invoice: record.row } },
        ]
      : record.tab === "vendors"
        ? [
            { label: "Request bank change…", target: { kind: "vendor_bank_change", org, vendor: record.row } },
            { label: "Request payout release…", target: { kind: "payout_release", org, vendor: record.row } },
          ]
        : [];
  if (actions.length === 0) return null;
  return (
    <div className="flex flex-wrap gap-2 border-t px-4 py-3" data-testid="request-actions">
      {actions.map((a) => (
        <Button
          key={a.target.kind}
          variant="outline"
          size="sm"
          disabled={offline}
          title={offline ? OFFLINE_ACTION_REASON : undefined}
          onClick={() => setTarget(a.target)}
          data-testid={`request-${a.target.kind}`}
        >
          <SendIcon aria-hidden="true" />
          {a.label}
        </Button>
      ))}
      <RequestDialog mode={target && { target }} onClose={() => setTarget(null)} />
    </div>
  );
}

/** "Start support session" on a customer user (an agent's way into the customer's view). */
function SupportAction({ org, user }: { org: Org; user: CustomerUser }) {
  const { can } = useAccount();
  const { offline } = useSyncState();
  const { support } = useSupport();
  const [open, setOpen] = useState(false);
  if (!can("impersonation:start")) return null;
  const why = offline
    ? OFFLINE_ACTION_REASON
    : support
      ? `You are already in a support session with ${support.subject_name}. End it first.`
      : undefined;
  return (
    <div className="flex flex-wrap items-center gap-3 border-t px-4 py-3" data-testid="support-actions">
      <Button size="sm" disabled={!!why} title={why} onClick={() => setOpen(true)} data-testid="start-support">
        <HeadsetIcon aria-hidden="true" />
        Start support session…
      </Button>
      {why && <span className="text-muted-foreground text-xs">{why}</span>}
      <StartSupportDialog org={org} user={user} open={open} onOpenChange={setOpen} />
    </div>
  );
}

/** A vendor with a bank change waiting for approval gets no payout until it is decided (API.md `payout_hold`). */
export function PayoutHold({ org, vendor }: { org: Org; vendor: Vendor | string }) {
  const vendorId = typeof vendor === "string" ? vendor : vendor.id;
  const { can } = useAccount();
  const pending = useQuery({
    ...pendingBankChangeQuery(org.id),
    enabled: can("approvals:request") || can("approvals:decide"),
  });
  const change = pending.data?.find((a) => a.target_id === vendorId);
  if (!change) return null;
  return (
    <div
      role="note"
      data-testid="payout-hold"
      className="my-2 flex gap-2 rounded-md border border-amber-300/60 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-400/20 dark:bg-amber-400/10 dark:text-amber-200"
    >
      <PauseCircleIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
      <p>
        Payouts to this vendor are on hold: a change of its bank account waits for approval.{" "}
        <Link to="/approvals" search={{ open: change.id }} className="font-medium underline underline-offset-2">
          Open the bank change
        </Link>
      </p>
    </div>
  );
}

function fields(org: Org, record: OpenRecord): ReactNode {
  switch (record.tab) {
    case "users": {
      const u = record.row;
      const subject = `${u.name} at ${org.name}`;
      const m = { recordType: "user" as const, recordId: u.id, subject };
      return (
        <>
          <Field label="Name">{u.name}</Field>
          <Field label="Role">{roleLabel(u.role)}</Field>
          <Field label="E-mail">
            <MaskedValue value={u.email} label="E-mail" {...m} />
          </Field>
          <Field label="Phone">
            <MaskedValue value={u.phone} label="Phone" {...m} />
          </Field>
          <Field label="Address">
            <MaskedValue value={u.address} label="Address" {...m} />
          </Field>
          <Field label="City">{u.city}</Field>
        </>
      );
    }
    case "vendors": {
      const v = record.row;
      const m = { recordType: "vendor" as const, recordId: v.id, subject: `${v.name} (vendor of ${org.name})` };
      return (
        <>
          <Field label="Name">{v.name}</Field>
          <Field label="Tax ID">
            <MaskedValue value={v.tax_id} label="Tax ID" {...m} />
          </Field>
          <Field label="Address">
            <MaskedValue value={v.address} label="Address" {...m} />
          </Field>
          <Field label="City">{v.city}</Field>
          <div className="py-3">
            <p className="text-muted-foreground text-xs font-medium tracking-wide uppercase">
              Bank account
            </p>
          </div>
          {v.bank_account ? (
            <>
              <Field label="IBAN">
                <MaskedValue value={v.bank_account.iban} label="IBAN" {...m} />
              </Field>
              <Field label="Bank">{v.bank_account.bank_name}</Field>
              <Field label="Account holder">{v.bank_account.account_holder}</Field>
            </>
          ) : (
            <p className="text-muted-foreground py-2 text-sm">No bank account on file.</p>
          )}
        </>
      );
    }
    case "invoices": {
      const i = record.row;
      return (
        <>
          <Field label="Number">
            <span className="font-mono">{i.number}</span>
          </Field>
          <Field label="Status">
            <StatusBadge status={i.status} />
          </Field>
          <Field label="Amount">
            <MoneyCell value={i.amount} className="text-left" />
          </Field>
          <Field label="Issued">{formatDate(i.issued_at)}</Field>
          <Field label="Due">{formatDate(i.due_at)}</Field>
        </>
      );
    }
    case "payments": {
      const p = record.row;
      return (
        <>
          <Field label="Kind">
            <PaymentKindBadge kind={p.kind} />
          </Field>
          <Field label="Amount">
            <MoneyCell value={p.amount} className="text-left" />
          </Field>
          <Field label="Executed">{formatDateTime(p.created_at)}</Field>
          {(p.invoice_id || p.vendor_id) && (
            <Field label="For">
              <PaymentTarget payment={p} />
            </Field>
          )}
          <Field label="Approval">
            {p.approval_id ? <span className="font-mono text-xs">{p.approval_id}</span> : "None"}
          </Field>
        </>
      );
    }
  }
}
