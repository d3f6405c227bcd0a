import { queryOptions } from "@tanstack/react-query";
import { auditSearch, staffList } from "@/bindings/commands";
import type { StaffFilter } from "@/bindings/types";
import { INACTIVE_DAYS, type StaffView } from "./search";

const FILTERS: Record<StaffView, StaffFilter> = {
  all: { privileged: null, inactive_days: null, active: null, pending: null },
  // Accounts a first sign-in created, with no role, not decided yet.
  pending: { privileged: null, inactive_days: null, active: true, pending: true },
  // The review lists what still grants access: active accounts only. Accounts waiting for
  // access have their own list (they grant nothing, and never made a request).
  privileged: { privileged: true, inactive_days: null, active: true, pending: null },
  inactive: { privileged: null, inactive_days: INACTIVE_DAYS, active: true, pending: false },
};

export const staffQuery = (view: StaffView) =>
  queryOptions({ queryKey: ["staff_list", view] as const, queryFn: () => staffList(FILTERS[view]) });

/** How many provisioning events the waiting list looks up (newest first). */
const PROVISIONED_LOOKUP = 200;

/**
 * When each account waiting for access was created by its first sign-in: the `staff.provisioned`
 * audit events (StaffMember carries no creation time), staff id → time.
 */
export const firstSignInsQuery = queryOptions({
  queryKey: ["audit_search", "staff.provisioned"] as const,
  queryFn: async () => {
    const page = await auditSearch({
      org_id: null,
      actor_subject: null,
      action: "staff.provisioned",
      target_type: "staff",
      target_id: null,
      outcome: null,
      request_id: null,
      impersonation_id: null,
      limit: PROVISIONED_LOOKUP,
      cursor: null,
    });
    return new Map(page.items.flatMap((e) => (e.target_id ? [[e.target_id, e.at] as const] : [])));
  },
});
