import { z } from "zod";

export const APPROVAL_LISTS = ["to_decide", "requested", "history"] as const;
export type ApprovalList = (typeof APPROVAL_LISTS)[number];

/** /approvals?list=&q=&sort=&desc=&open= */
export const approvalsSearchSchema = z.object({
  list: z.enum(APPROVAL_LISTS).optional().catch(undefined),
  q: z.string().optional().catch(undefined),
  sort: z.enum(["kind", "amount", "reason", "status", "created_at", "expires_at"]).optional().catch(undefined),
  desc: z.boolean().optional().catch(undefined),
  /** The request whose detail is open. */
  open: z.string().optional().catch(undefined),
});
export type ApprovalsSearch = z.infer<typeof approvalsSearchSchema>;
