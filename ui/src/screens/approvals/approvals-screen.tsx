import { useCallback, useMemo, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { createColumnHelper, type RowSelectionState, type SortingState } from "@tanstack/react-table";
import { CheckIcon, FilterXIcon, InboxIcon, XIcon } from "lucide-react";
import type { Approval, Decision, Org } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { FilterInput } from "@/components/filter-input";
import { ClearFilters, FilterSelect } from "@/components/filter-select";
import { MoneyCell } from "@/components/money";
import { NoAccess } from "@/components/no-access";
import { RelativeTime } from "@/components/relative-time";
import { ApprovalStatusBadge, approvalKindLabel, approvalStatusLabel } from "@/components/status-badge";
import { currencyDigits, formatCount, formatMoney } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";
import { useDocumentTitle } from "@/lib/title";
import { orgsListQuery } from "@/screens/customers/queries";
import { TableSkeleton } from "@/screens/customers/customers-screen";
import { focusTable, useFilterBox } from "@/screens/customers/use-slash-focus";
import { ApprovalSheet } from "./approval-detail";
import { BulkDecideDialog } from "./bulk-decide";
import { approvalsQuery } from "./queries";
import {
  APPROVAL_KINDS,
  APPROVAL_LISTS,
  DONE_STATUSES,
  type ApprovalFilters,
  type ApprovalList,
  type ApprovalsSearch,
} from "./search";

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
const columnsFor = (orgName: (id: string) => string) => [
  col.accessor("kind", {
    header: "Kind",
    meta: { width: "15%" },
    cell: (c) => <span className="font-medium">{approvalKindLabel(c.getValue())}</span>,
  }),
  col.accessor((a) => orgName(a.org_id), {
    id: "org",
    header: "Customer",
    meta: { width: "15%" },
    cell: (c) => <span className="block truncate">{c.getValue()}</span>,
  }),
  col.accessor((a) => a.amount_base?.amount_minor ?? a.amount?.amount_minor ?? -1, {
    id: "amount",
    header: "Amount",
    meta: { width: "14%", align: "right" },
    cell: (c) => {
      const a = c.row.original;
      return a.amount ? <MoneyCell value={a.amount} /> : <span className="text-muted-foreground block text-right">—</span>;
    },
  }),
  col.accessor("reason", {
    header: "Reason",
    meta: { width: "24%" },
    cell: (c) => <span className="block truncate">{c.getValue()}</span>,
  }),
  col.accessor("status", {
    header: "Status",
    meta: { width: "11%" },
    cell: (c) => <ApprovalStatusBadge status={c.getValue()} />,
  }),
  col.accessor("created_at", {
    header: "Requested",
    meta: { width: "10.5%" },
    cell: (c) => <RelativeTime value={c.getValue()} className="text-muted-foreground" />,
  }),
  col.accessor("expires_at", {
    header: "Expires",
    meta: { width: "10.5%" },
    cell: (c) => <RelativeTime value={c.getValue()} className="text-muted-foreground" />,
  }),
];

const filterTextFor = (orgName: (id: string) => string) => (a: Approval) =>
  `${approvalKindLabel(a.kind)} ${orgName(a.org_id)} ${a.reason} ${approvalStatusLabel(a.status)} ${a.amount ? formatMoney(a.amount) : ""}`;

/** At least `min` (major units of the base currency) as the policy compares it: amount_base. */
const atLeast = (min: number | undefined) => (a: Approval) => {
  if (min === undefined) return true;
  const m = a.amount_base ?? a.amount;
  return !!m && m.amount_minor >= min * 10 ** currencyDigits(m.currency);
};

/** The customers' names, from the local data; one outside it shows as such. */
function useOrgNames() {
  const orgs = useQuery(orgsListQuery);
  return useMemo(() => {
    const byId = new Map((orgs.data ?? []).map((o: Org) => [o.id, o.name]));
    return { orgs: orgs.data ?? [], name: (id: string) => byId.get(id) ?? "Not in your local data" };
  }, [orgs.data]);
}

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
  const filters: ApprovalFilters = { kind: search.kind, org: search.org, status: search.status };
  // Every list's count shows on its tab, so all three load, with the same filters.
  const lists = {
    to_decide: useQuery(approvalsQuery("to_decide", filters)),
    requested: useQuery(approvalsQuery("requested", filters)),
    history: useQuery(approvalsQuery("history", filters)),
  };
  const count = (l: ApprovalList) => lists[l].data?.items.filter(atLeast(search.min)).length ?? 0;

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
          setSearch({
            list: value as ApprovalList,
            q: undefined,
            sort: undefined,
            desc: undefined,
            open: undefined,
            status: undefined,
          })
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
                    {formatCount(count(l))}
                    {q.data.more ? "+" : ""}
                  </span>
                )}
              </TabsTrigger>
            );
          })}
        </TabsList>
        {APPROVAL_LISTS.map((l) => (
          <TabsContent key={l} value={l} className="flex min-h-0 flex-col">
            {l === list && <ListPane list={l} search={search} setSearch={setSearch} filters={filters} />}
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
  filters,
}: {
  list: ApprovalList;
  search: ApprovalsSearch;
  setSearch: (patch: Partial<ApprovalsSearch>) => void;
  filters: ApprovalFilters;
}) {
  const approvals = useQuery(approvalsQuery(list, filters));
  const { name: orgName } = useOrgNames();
  const columns = useMemo(() => columnsFor(orgName), [orgName]);
  const filterText = useMemo(() => filterTextFor(orgName), [orgName]);
  const items = useMemo(
    () => approvals.data?.items.filter(atLeast(search.min)) ?? [],
    [approvals.data, search.min],
  );
  const { offline } = useSyncState();
  // Bulk decide: only where the caller decides.
  const bulk = list === "to_decide";
  const [ticked, setTicked] = useState<RowSelectionState>({});
  const [bulkDecision, setBulkDecision] = useState<Decision | null>(null);
  const tickedItems = items.filter((a) => ticked[a.id]);
  const narrowed = search.kind || search.org || search.status || search.min !== undefined;
  const { filter, setFilter, filterRef } = useFilterBox(search.q, (q) => setSearch({ q }));
  const [selectedId, setSelectedId] = useState<string | null>(search.open ?? null);
  const rootRef = useRef<HTMLDivElement>(null);

  const sorting: SortingState = useMemo(
    () => [{ id: search.sort ?? "expires_at", desc: search.desc ?? false }],
    [search.sort, search.desc],
  );

  return (
    <div ref={rootRef} className="flex min-h-0 flex-1 flex-col gap-3">
      <div className="flex flex-wrap items-center gap-2" data-testid="approval-filters">
        <FilterBar
          list={list}
          search={search}
          setSearch={setSearch}
          baseCurrency={approvals.data?.items.find((a) => a.amount_base)?.amount_base?.currency ?? "EUR"}
        />
        {narrowed && (
          <ClearFilters onClear={() => setSearch({ kind: undefined, org: undefined, status: undefined, min: undefined })} />
        )}
        <div className="flex-1" />
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
      {approvals.isSuccess && approvals.data.more && (
        <p className="text-muted-foreground text-sm">
          The newest {formatCount(approvals.data.items.length)} requests; narrow the filters to find older ones.
        </p>
      )}
      {bulk && tickedItems.length > 0 && (
        <div
          className="bg-muted/60 flex items-center gap-3 rounded-md border px-3 py-1.5 text-sm"
          role="toolbar"
          aria-label="Selected requests"
          data-testid="bulk-bar"
        >
          <span className="font-medium">{formatCount(tickedItems.length)} selected</span>
          <Button
            size="sm"
            disabled={offline}
            title={offline ? OFFLINE_ACTION_REASON : undefined}
            onClick={() => setBulkDecision("approve")}
            data-testid="bulk-approve"
          >
            <CheckIcon aria-hidden="true" />
            Approve {formatCount(tickedItems.length)}…
          </Button>
          <Button
            size="sm"
            variant="outline"
            disabled={offline}
            title={offline ? OFFLINE_ACTION_REASON : undefined}
            onClick={() => setBulkDecision("reject")}
            data-testid="bulk-reject"
          >
            <XIcon aria-hidden="true" />
            Reject {formatCount(tickedItems.length)}…
          </Button>
          <Button size="sm" variant="ghost" onClick={() => setTicked({})} className="ml-auto">
            Clear selection
          </Button>
        </div>
      )}
      <BulkDecideDialog
        decision={bulkDecision}
        requests={tickedItems}
        onClose={(decided) => {
          setBulkDecision(null);
          if (decided) setTicked({});
        }}
      />
      {approvals.isPending ? (
        <TableSkeleton />
      ) : approvals.isError ? (
        <ErrorState error={approvals.error} onRetry={() => void approvals.refetch()} />
      ) : items.length === 0 ? (
        narrowed ? (
          <EmptyState icon={FilterXIcon} title="No request matches these filters">
            Clear a filter to see more.
          </EmptyState>
        ) : (
          <EmptyState icon={InboxIcon} title={LISTS[list].empty}>
            {LISTS[list].emptyHelp}
          </EmptyState>
        )
      ) : (
        <DataTable
          data={items}
          rowSelection={bulk ? ticked : undefined}
          onRowSelectionChange={bulk ? setTicked : undefined}
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


/** Kind, customer, status (History) and smallest amount: each a URL search param. */
function FilterBar({
  list,
  search,
  setSearch,
  baseCurrency,
}: {
  baseCurrency: string;
  list: ApprovalList;
  search: ApprovalsSearch;
  setSearch: (patch: Partial<ApprovalsSearch>) => void;
}) {
  const { orgs } = useOrgNames();
  const [min, setMin] = useState(search.min === undefined ? "" : String(search.min));
  const commitMin = (text: string) => {
    const n = Number(text.replace(/,/g, ""));
    setSearch({ min: text.trim() === "" || !Number.isFinite(n) || n < 0 ? undefined : n });
  };
  return (
    <>
      <FilterSelect
        label="Kind"
        every="Every kind"
        value={search.kind}
        options={APPROVAL_KINDS.map((k) => [k, approvalKindLabel(k)] as const)}
        onChange={(kind) => setSearch({ kind })}
        className="w-40"
      />
      <FilterSelect
        label="Customer"
        every="Every customer"
        value={search.org}
        options={orgs.map((o) => [o.id, o.name] as const)}
        onChange={(org) => setSearch({ org })}
        className="w-44"
      />
      {list === "history" && (
        <FilterSelect
          label="Status"
          every="Every status"
          value={search.status}
          options={DONE_STATUSES.map((st) => [st, approvalStatusLabel(st)] as const)}
          onChange={(status) => setSearch({ status })}
          className="w-36"
        />
      )}
      <div className="relative">
        <Input
          value={min}
          onChange={(e) => setMin(e.target.value)}
          onBlur={(e) => commitMin(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && commitMin(e.currentTarget.value)}
          inputMode="decimal"
          placeholder="Min. amount"
          aria-label={`Smallest amount, in ${baseCurrency}`}
          className="tabular h-8 w-40 pr-11"
          data-testid="filter-min"
        />
        <span className="text-muted-foreground pointer-events-none absolute top-1/2 right-2.5 -translate-y-1/2 text-xs">
          {baseCurrency}
        </span>
      </div>
    </>
  );
}
