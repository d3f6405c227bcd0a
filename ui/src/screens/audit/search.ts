import { z } from "zod";

const text = z.string().trim().min(1).max(500).optional().catch(undefined);

/**
 * /audit: every filter of API.md's `GET /v1/audit`, typed, in the URL (a filtered view is a
 * link an auditor can send): org, actor, action, target_type, target_id, outcome, request_id,
 * session (impersonation_id), from, to (RFC 3339); open = the event whose detail is shown.
 */
export const auditSearchSchema = z.object({
  org: text,
  actor: text,
  action: text,
  target_type: text,
  target_id: text,
  outcome: z.enum(["success", "denied", "error"]).optional().catch(undefined),
  request_id: text,
  session: text,
  from: z.iso.datetime({ offset: true }).optional().catch(undefined),
  to: z.iso.datetime({ offset: true }).optional().catch(undefined),
  open: z.string().optional().catch(undefined),
});
export type AuditSearch = z.infer<typeof auditSearchSchema>;
export type AuditFilters = Omit<AuditSearch, "open">;
