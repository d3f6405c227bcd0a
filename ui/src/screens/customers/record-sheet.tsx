import type { ReactNode } from "react";
import type { CustomerUser, Invoice, Org, Payment, Vendor } from "@/bindings/types";
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
import { roleLabel } from "./record-columns";
import type { OrgTab } from "./search";
import { PaymentTarget } from "./payment-target";

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
      <div className="overflow-auto px-4 py-2">
        <dl className="divide-y">{fields(org, record)}</dl>
      </div>
    </>
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
