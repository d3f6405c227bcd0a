import { z } from "zod";

export const APPROVAL_LISTS = ["to_decide", "requested", "history"] as const;
export type ApprovalList = (typeof APPROVAL_LISTS)[number];

export const APPROVAL_KINDS = ["refund", "credit_note", "vendor_bank_change", "payout_release", "data_export"] as const;
/** History's statuses (the other two lists hold pending requests only). */
export const DONE_STATUSES = ["approved", "executed", "rejected", "cancelled", "expired"] as const;

/** /approvals?list=&kind=&org=&status=&min=&q=&sort=&desc=&open= */
export const approvalsSearchSchema = z.object({
  list: z.enum(APPROVAL_LISTS).optional().catch(undefined),
  kind: z.enum(APPROVAL_KINDS).optional().catch(undefined),
  /** The customer (org id). */
  org: z.string().optional().catch(undefined),
  status: z.enum(DONE_STATUSES).optional().catch(undefined),
  /** Smallest amount, in the base currency's major units (what the policy compares). */
  min: z.number().nonnegative().optional().catch(undefined),
  q: z.string().optional().catch(undefined),
  sort: z
    .enum(["kind", "org", "amount", "reason", "status", "created_at", "expires_at"])
    .optional()
    .catch(undefined),
  desc: z.boolean().optional().catch(undefined),
  /** The request whose detail is open. */
  open: z.string().optional().catch(undefined),
});
export type ApprovalsSearch = z.infer<typeof approvalsSearchSchema>;
/** The filters the server applies (kind, customer, status); the amount is applied here. */
export type ApprovalFilters = Pick<ApprovalsSearch, "kind" | "org" | "status">;
