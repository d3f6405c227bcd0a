import { useCallback, useMemo, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { createColumnHelper, type SortingState } from "@tanstack/react-table";
import { InboxIcon } from "lucide-react";
import type { Approval } from "@/bindings/types";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { FilterInput } from "@/components/filter-input";
import { MoneyCell } from "@/components/money";
import { NoAccess } from "@/components/no-access";
import { RelativeTime } from "@/components/relative-time";
import { ApprovalStatusBadge, approvalKindLabel, approvalStatusLabel } from "@/components/status-badge";
import { formatCount, formatMoney } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { useDocumentTitle } from "@/lib/title";
import { TableSkeleton } from "@/screens/customers/customers-screen";
import { focusTable, useFilterBox } from "@/screens/customers/use-slash-focus";
import { ApprovalSheet } from "./approval-detail";
import { approvalsQuery } from "./queries";
import { APPROVAL_LISTS, type ApprovalList, type ApprovalsSearch } from "./search";

const LISTS: Record<ApprovalList, { label: string; empty: string; emptyHelp: string }> = {
  to_decide: {
    label: "To decide",
    empty: "Nothing waits for your decision",
    emptyHelp: "Requests you may decide appear here as soon as someone makes them.",
  },
  requested: {
    label: "Requested by me",
    empty: "You have no request waiting",
    emptyHelp: "Requests you make stay here until they are decided, cancelled or expire.",
  },
  history: {
    label: "History",
    empty: "No decided request yet",
    emptyHelp: "Executed, rejected, cancelled and expired requests you may see stay here.",
  },
};

const col = createColumnHelper<Approval>();
const columns = [
  col.accessor("kind", {
    header: "Kind",
    meta: { width: "16%" },
    cell: (c) => <span className="font-medium">{approvalKindLabel(c.getValue())}</span>,
  }),
  col.accessor((a) => a.amount_base?.amount_minor ?? a.amount?.amount_minor ?? -1, {
    id: "amount",
    header: "Amount",
    meta: { width: "16%", align: "right" },
    cell: (c) => {
      const a = c.row.original;
      return a.amount ? <MoneyCell value={a.amount} /> : <span className="text-muted-foreground block text-right">—</span>;
    },
  }),
  col.accessor("reason", {
    header: "Reason",
    meta: { width: "30%" },
    cell: (c) => <span className="block truncate">{c.getValue()}</span>,
  }),
  col.accessor("status", {
    header: "Status",
    meta: { width: "12%" },
    cell: (c) => <ApprovalStatusBadge status={c.getValue()} />,
  }),
  col.accessor("created_at", {
    header: "Requested",
    meta: { width: "13%" },
    cell: (c) => <RelativeTime value={c.getValue()} className="text-muted-foreground" />,
  }),
  col.accessor("expires_at", {
    header: "Expires",
    meta: { width: "13%" },
    cell: (c) => <RelativeTime value={c.getValue()} className="text-muted-foreground" />,
  }),
];

const filterText = (a: Approval) =>
  `${approvalKindLabel(a.kind)} ${a.reason} ${approvalStatusLabel(a.status)} ${a.amount ? formatMoney(a.amount) : ""}`;

/** The approvals inbox: to decide, requested by me, history; a request's detail in a side sheet. */
export function ApprovalsScreen() {
  useDocumentTitle("Approvals");
  const { can } = useAccount();
  if (!can("approvals:request") && !can("approvals:decide")) {
    return <NoAccess what="approvals" />;
  }
  return <Inbox />;
}

function Inbox() {
  const search = useSearch({ from: "/shell/approvals" });
  const navigate = useNavigate({ from: "/approvals" });
  const list = search.list ?? "to_decide";
  const setSearch = useCallback(
    (patch: Partial<ApprovalsSearch>) =>
      void navigate({ search: (prev) => ({ ...prev, ...patch }), replace: true }),
    [navigate],
  );
  // Every list's count shows on its tab, so all three load.
  const lists = {
    to_decide: useQuery(approvalsQuery("to_decide")),
    requested: useQuery(approvalsQuery("requested")),
    history: useQuery(approvalsQuery("history")),
  };

  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="approvals">
      <header className="px-6 pt-5 pb-3">
        <h1 className="text-xl font-semibold tracking-tight">Approvals</h1>
        <p className="text-muted-foreground text-sm">
          Refunds, credit notes, bank changes, payouts and data exports wait here for two-person
          approval.
        </p>
      </header>
      <Tabs
        value={list}
        onValueChange={(value) =>
          setSearch({ list: value as ApprovalList, q: undefined, sort: undefined, desc: undefined, open: undefined })
        }
        className="min-h-0 flex-1 gap-3 px-6 pb-6"
      >
        <TabsList aria-label="Approval lists">
          {APPROVAL_LISTS.map((l) => {
            const q = lists[l];
            return (
              <TabsTrigger key={l} value={l} data-testid={`list-${l}`} className="gap-2 px-3">
                {LISTS[l].label}
                {q.isSuccess && (
                  <span className="text-muted-foreground tabular text-xs font-normal" data-testid={`count-${l}`}>
                    {formatCount(q.data.items.length)}
                    {q.data.more ? "+" : ""}
                  </span>
                )}
              </TabsTrigger>
            );
          })}
        </TabsList>
        {APPROVAL_LISTS.map((l) => (
          <TabsContent key={l} value={l} className="flex min-h-0 flex-col">
            {l === list && <ListPane list={l} search={search} setSearch={setSearch} />}
          </TabsContent>
        ))}
      </Tabs>
      <ApprovalSheet id={search.open ?? null} onClose={() => setSearch({ open: undefined })} />
    </div>
  );
}

function ListPane({
  list,
  search,
  setSearch,
}: {
  list: ApprovalList;
  search: ApprovalsSearch;
  setSearch: (patch: Partial<ApprovalsSearch>) => void;
}) {
  const approvals = useQuery(approvalsQuery(list));
  const { filter, setFilter, filterRef } = useFilterBox(search.q, (q) => setSearch({ q }));
  const [selectedId, setSelectedId] = useState<string | null>(search.open ?? null);
  const rootRef = useRef<HTMLDivElement>(null);

  const sorting: SortingState = useMemo(
    () => [{ id: search.sort ?? "expires_at", desc: search.desc ?? false }],
    [search.sort, search.desc],
  );

  return (
    <div ref={rootRef} className="flex min-h-0 flex-1 flex-col gap-3">
      <div className="flex items-center gap-3">
        <p className="text-muted-foreground flex-1 text-sm">
          {approvals.isSuccess && approvals.data.more
            ? `The first ${formatCount(approvals.data.items.length)} requests; narrow the filter to find older ones.`
            : " "}
        </p>
        <FilterInput
          ref={filterRef}
          value={filter}
          onValueChange={setFilter}
          onArrowDown={() => focusTable(rootRef.current)}
          placeholder="Filter by kind, reason, status, amount"
          aria-label="Filter requests"
          data-testid="table-filter"
        />
      </div>
      {approvals.isPending ? (
        <TableSkeleton />
      ) : approvals.isError ? (
        <ErrorState error={approvals.error} onRetry={() => void approvals.refetch()} />
      ) : approvals.data.items.length === 0 ? (
        <EmptyState icon={InboxIcon} title={LISTS[list].empty}>
          {LISTS[list].emptyHelp}
        </EmptyState>
      ) : (
        <DataTable
          data={approvals.data.items}
          columns={columns}
          getRowId={(a) => a.id}
          filterText={filterText}
          filter={filter}
          sorting={sorting}
          onSortingChange={(s) =>
            setSearch({ sort: s[0]?.id as ApprovalsSearch["sort"], desc: s[0]?.desc || undefined })
          }
          selectedId={selectedId}
          onSelectedIdChange={setSelectedId}
          onOpen={(a) => setSearch({ open: a.id })}
          label={LISTS[list].label}
          describeRow={(a) => `${approvalKindLabel(a.kind)}: ${a.reason}`}
          noMatches={
            <EmptyState title="No request matches" className="py-8">
              Nothing matches “{filter}”. Check the spelling or clear the filter (Esc).
            </EmptyState>
          }
        />
      )}
    </div>
  );
}
