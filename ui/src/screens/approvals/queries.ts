import { queryOptions } from "@tanstack/react-query";
import { approvalGet, approvalsList } from "@/bindings/commands";
import type { Approval, ApprovalFilter } from "@/bindings/types";
import type { ApprovalFilters, ApprovalList } from "./search";

/** The server's largest page: a list longer than this says so rather than paging (yet). */
export const APPROVALS_PAGE = 200;

const NO_FILTER: ApprovalFilter = { status: null, kind: null, org_id: null, mine: null, limit: APPROVALS_PAGE, cursor: null };

/**
 * One list of the inbox, filtered by the server (kind, customer, status). History is every
 * request the caller may see that no longer waits (decided, executed, cancelled, expired): the
 * pending ones are in the other two lists.
 */
export const approvalsQuery = (list: ApprovalList, filters: ApprovalFilters = {}) =>
  queryOptions({
    queryKey: ["approvals_list", list, filters.kind ?? null, filters.org ?? null, filters.status ?? null] as const,
    queryFn: async (): Promise<{ items: Approval[]; more: boolean }> => {
      const mine = list === "history" ? null : list;
      const page = await approvalsList({
        ...NO_FILTER,
        mine,
        kind: filters.kind ?? null,
        org_id: filters.org ?? null,
        status: list === "history" ? (filters.status ?? null) : "pending",
      });
      const items = list === "history" ? page.items.filter((a) => a.status !== "pending") : page.items;
      return { items, more: page.next_cursor !== null };
    },
    // Others decide while the inbox is open: its lists and counts stay live.
    refetchInterval: 15_000,
  });

export const approvalQuery = (id: string) =>
  queryOptions({ queryKey: ["approval_get", id] as const, queryFn: () => approvalGet(id) });

/**
 * The org's vendor bank changes waiting for approval: while one waits, no payout leaves for
 * that vendor (API.md `payout_hold`), and the vendor's page and a payout request say so.
 */
export const pendingBankChangeQuery = (orgId: string) =>
  queryOptions({
    queryKey: ["approvals_list", "bank_changes", orgId] as const,
    queryFn: async () =>
      (await approvalsList({ ...NO_FILTER, kind: "vendor_bank_change", status: "pending", org_id: orgId })).items,
  });
