import { queryOptions } from "@tanstack/react-query";
import { staffList } from "@/bindings/commands";
import type { StaffFilter } from "@/bindings/types";
import { INACTIVE_DAYS, type StaffView } from "./search";

const FILTERS: Record<StaffView, StaffFilter> = {
  all: { privileged: null, inactive_days: null, active: null },
  // The review lists what still grants access: active accounts only.
  privileged: { privileged: true, inactive_days: null, active: true },
  inactive: { privileged: null, inactive_days: INACTIVE_DAYS, active: true },
};

export const staffQuery = (view: StaffView) =>
  queryOptions({ queryKey: ["staff_list", view] as const, queryFn: () => staffList(FILTERS[view]) });
