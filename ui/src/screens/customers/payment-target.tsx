import { useQuery } from "@tanstack/react-query";
import type { Payment } from "@/bindings/types";
import { useAccount } from "@/lib/permissions";
import { orgInvoicesQuery, orgVendorsQuery } from "./queries";

/**
 * What a payment was for, in words: the invoice's number or the vendor's name,
 * from the local data (the org's invoices and vendors are cached with it). Where
 * the user may not read invoices or vendors, or the record is not cached, the
 * id's first characters stand in, so the row still says something checkable.
 */
export function PaymentTarget({ payment }: { payment: Payment }) {
  const { can } = useAccount();
  const invoiceId = payment.invoice_id ?? null;
  const vendorId = payment.vendor_id ?? null;
  const invoice = useQuery({
    ...orgInvoicesQuery(payment.org_id),
    enabled: invoiceId !== null && can("invoices:read"),
    select: (rows) => rows.find((i) => i.id === invoiceId)?.number,
  });
  const vendor = useQuery({
    ...orgVendorsQuery(payment.org_id),
    enabled: vendorId !== null && can("vendors:read"),
    select: (rows) => rows.find((v) => v.id === vendorId)?.name,
  });
  const short = (id: string) => <span className="font-mono">{id.slice(0, 8)}</span>;
  if (invoiceId !== null) {
    return <span data-testid="payment-target">Invoice {invoice.data ?? short(invoiceId)}</span>;
  }
  if (vendorId !== null) {
    return <span data-testid="payment-target">{vendor.data ? `Vendor ${vendor.data}` : <>Vendor {short(vendorId)}</>}</span>;
  }
  return <span>—</span>;
}
