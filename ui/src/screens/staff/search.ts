import { z } from "zod";

export const STAFF_VIEWS = ["all", "pending", "privileged", "inactive"] as const;
export type StaffView = (typeof STAFF_VIEWS)[number];

/** /staff?view=&q=&open= */
export const staffSearchSchema = z.object({
  view: z.enum(STAFF_VIEWS).optional().catch(undefined),
  q: z.string().optional().catch(undefined),
  /** The account whose detail is open. */
  open: z.string().optional().catch(undefined),
});
export type StaffSearch = z.infer<typeof staffSearchSchema>;

/** The access review's inactivity bound (API.md: `?inactive_days=30`). */
export const INACTIVE_DAYS = 30;
