import { queryOptions } from "@tanstack/react-query";
import { approvalGet, approvalsList } from "@/bindings/commands";
import type { Approval, ApprovalFilter } from "@/bindings/types";
import type { ApprovalList } from "./search";

/** The server's largest page: a list longer than this says so rather than paging (yet). */
export const APPROVALS_PAGE = 200;

const NO_FILTER: ApprovalFilter = { status: null, kind: null, org_id: null, mine: null, limit: APPROVALS_PAGE, cursor: null };

/**
 * One list of the inbox. History is every request the caller may see that no longer waits
 * (decided, executed, cancelled, expired): the server lists them all, the pending ones are
 * in the other two lists.
 */
export const approvalsQuery = (list: ApprovalList) =>
  queryOptions({
    queryKey: ["approvals_list", list] as const,
    queryFn: async (): Promise<{ items: Approval[]; more: boolean }> => {
      const mine = list === "history" ? null : list;
      const page = await approvalsList({ ...NO_FILTER, mine });
      const items = list === "history" ? page.items.filter((a) => a.status !== "pending") : page.items;
      return { items, more: page.next_cursor !== null };
    },
  });

export const approvalQuery = (id: string) =>
  queryOptions({ queryKey: ["approval_get", id] as const, queryFn: () => approvalGet(id) });
