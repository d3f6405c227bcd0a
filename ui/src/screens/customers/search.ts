import { z } from "zod";

/** /customers?q=&sort=&desc= */
export const customersSearchSchema = z.object({
  q: z.string().optional().catch(undefined),
  sort: z.enum(["name", "slug", "region", "support_access", "created_at"]).optional().catch(undefined),
  desc: z.boolean().optional().catch(undefined),
});
export type CustomersSearch = z.infer<typeof customersSearchSchema>;

export const ORG_TABS = ["users", "invoices", "vendors", "payments"] as const;
export type OrgTab = (typeof ORG_TABS)[number];

/** /customers/$orgId?tab=&q=&sort=&desc=&selected=&open= */
export const orgSearchSchema = z.object({
  tab: z.enum(ORG_TABS).optional().catch(undefined),
  q: z.string().optional().catch(undefined),
  sort: z.string().optional().catch(undefined),
  desc: z.boolean().optional().catch(undefined),
  /** The selected row (e.g. chosen in the search palette). */
  selected: z.string().optional().catch(undefined),
  /** The row whose detail panel is open. */
  open: z.string().optional().catch(undefined),
});
export type OrgSearch = z.infer<typeof orgSearchSchema>;
