import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useQuery, useQueryClient, type UseQueryOptions } from "@tanstack/react-query";
import { Link, useNavigate, useParams, useSearch } from "@tanstack/react-router";
import type { ColumnDef, SortingState } from "@tanstack/react-table";
import { ChevronRightIcon, DownloadIcon, InboxIcon } from "lucide-react";
import type { Org, OrgSummary, Permission } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { FilterInput } from "@/components/filter-input";
import { NoAccess } from "@/components/no-access";
import { RegionBadge, SupportAccessBadge } from "@/components/status-badge";
import { errorCode } from "@/lib/errors";
import { formatCount, formatDate } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { orgsRecentQuery } from "@/lib/queries";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";
import { RequestDialog } from "@/screens/approvals/request-dialog";
import { useDocumentTitle } from "@/lib/title";
import { TableSkeleton } from "./customers-screen";
import {
  orgInvoicesQuery,
  orgPaymentsQuery,
  orgQuery,
  orgUsersQuery,
  orgVendorsQuery,
} from "./queries";
import {
  invoiceColumns,
  invoiceText,
  paymentColumns,
  paymentText,
  userColumns,
  userText,
  vendorColumns,
  vendorText,
} from "./record-columns";
import { RecordSheet, type OpenRecord } from "./record-sheet";
import { ORG_TABS, type OrgSearch, type OrgTab } from "./search";
import { focusTable, useFilterBox } from "./use-slash-focus";

const TAB_META: Record<OrgTab, { label: string; permission: Permission; count: keyof OrgSummary; noun: string }> = {
  users: { label: "Users", permission: "users:read", count: "users", noun: "users" },
  invoices: { label: "Invoices", permission: "invoices:read", count: "invoices", noun: "invoices" },
  vendors: { label: "Vendors", permission: "vendors:read", count: "vendors", noun: "vendors" },
  payments: { label: "Payments", permission: "payments:read", count: "payments", noun: "payments" },
};

/** One customer: header, then its users, invoices, vendors and payments. */
export function OrgScreen() {
  const { can } = useAccount();
  if (!can("orgs:read")) return <NoAccess />;
  return <OrgDetail />;
}

function OrgDetail() {
  const { orgId } = useParams({ from: "/shell/customers/$orgId" });
  const search = useSearch({ from: "/shell/customers/$orgId" });
  const navigate = useNavigate({ from: "/customers/$orgId" });
  const queryClient = useQueryClient();
  const { can } = useAccount();
  const summary = useQuery(orgQuery(orgId));
  useDocumentTitle(summary.data?.org.name ?? "Customer");

  // Opening a customer marks it as recent (orgGet does that on the Rust side).
  useEffect(() => {
    if (summary.isSuccess) void queryClient.invalidateQueries({ queryKey: orgsRecentQuery.queryKey });
  }, [summary.isSuccess, orgId, queryClient]);

  const tabs = ORG_TABS.filter((t) => can(TAB_META[t].permission));
  const tab: OrgTab | undefined = search.tab && tabs.includes(search.tab) ? search.tab : tabs[0];

  const setSearch = useCallback(
    (patch: Partial<OrgSearch>) =>
      void navigate({ search: (prev) => ({ ...prev, ...patch }), replace: true }),
    [navigate],
  );

  if (summary.isPending) {
    return (
      <div className="grid gap-4 p-6" aria-busy="true" aria-label="Loading customer">
        <Skeleton className="h-4 w-40" />
        <Skeleton className="h-7 w-72" />
        <Skeleton className="h-9 w-96" />
        <TableSkeleton />
      </div>
    );
  }
  if (summary.isError) {
    return (
      <div className="p-6">
        <Breadcrumb name="Customer" />
        <ErrorState
          error={summary.error}
          title={errorCode(summary.error) === "not_found_locally" ? "This customer is not in your local data" : undefined}
          onRetry={() => void summary.refetch()}
        />
      </div>
    );
  }

  const { org } = summary.data;
  return (
    <div className="flex h-full min-h-0 flex-col">
      <header className="px-6 pt-5 pb-4" data-testid="org-header">
        <Breadcrumb name={org.name} />
        <div className="mt-2 flex flex-wrap items-center gap-x-3 gap-y-2">
          <h1 className="text-xl font-semibold tracking-tight">{org.name}</h1>
          <span className="text-muted-foreground font-mono text-sm">{org.slug}</span>
          <RegionBadge region={org.region} />
          <SupportAccessBadge mode={org.support_access} />
          <span className="text-muted-foreground ml-auto text-xs">
            Customer since {formatDate(org.created_at)}
          </span>
          <DataExportAction org={org} />
        </div>
      </header>
      {tab === undefined ? (
        <NoAccess what="this customer's users, invoices, vendors or payments" />
      ) : (
        <Tabs
          value={tab}
          onValueChange={(value) =>
            setSearch({ tab: value as OrgTab, q: undefined, sort: undefined, desc: undefined, selected: undefined, open: undefined })
          }
          className="min-h-0 flex-1 gap-3 px-6 pb-6"
        >
          <TabsList aria-label={`${org.name} records`}>
            {tabs.map((t) => (
              <TabsTrigger key={t} value={t} data-testid={`tab-${t}`} className="gap-2 px-3">
                {TAB_META[t].label}
                <span className="text-muted-foreground tabular text-xs font-normal">
                  {formatCount(summary.data[TAB_META[t].count] as number)}
                </span>
              </TabsTrigger>
            ))}
          </TabsList>
          {tabs.map((t) => (
            <TabsContent key={t} value={t} className="flex min-h-0 flex-col">
              {t === tab && <RecordTab org={org} tab={t} search={search} setSearch={setSearch} />}
            </TabsContent>
          ))}
        </Tabs>
      )}
    </div>
  );
}

function Breadcrumb({ name }: { name: string }) {
  return (
    <nav aria-label="Breadcrumb" className="text-muted-foreground flex items-center gap-1 text-xs">
      <Link
        to="/customers"
        className="hover:text-foreground focus-visible:ring-ring/60 rounded outline-none focus-visible:ring-[3px]"
      >
        Customers
      </Link>
      <ChevronRightIcon className="size-3" aria-hidden="true" />
      <span aria-current="page" className="text-foreground truncate">
        {name}
      </span>
    </nav>
  );
}

type TabConfig<T> = {
  /** The tab's query options (one query per command). */
  query: (orgId: string) => unknown;
  columns: (org: Org) => ColumnDef<T, any>[];
  text: (row: T) => string;
  describe: (row: T) => string;
  defaultSort: string;
  filterPlaceholder: string;
  open: (row: T) => OpenRecord;
};

const TABS: Record<OrgTab, TabConfig<any>> = {
  users: {
    query: orgUsersQuery,
    columns: userColumns,
    text: userText,
    describe: (u) => u.name,
    defaultSort: "name",
    filterPlaceholder: "Filter users",
    open: (row) => ({ tab: "users", row }),
  } satisfies TabConfig<import("@/bindings/types").CustomerUser>,
  invoices: {
    query: orgInvoicesQuery,
    columns: invoiceColumns,
    text: invoiceText,
    describe: (i) => `Invoice ${i.number}`,
    defaultSort: "issued_at",
    filterPlaceholder: "Filter invoices",
    open: (row) => ({ tab: "invoices", row }),
  } satisfies TabConfig<import("@/bindings/types").Invoice>,
  vendors: {
    query: orgVendorsQuery,
    columns: vendorColumns,
    text: vendorText,
    describe: (v) => v.name,
    defaultSort: "name",
    filterPlaceholder: "Filter vendors",
    open: (row) => ({ tab: "vendors", row }),
  } satisfies TabConfig<import("@/bindings/types").Vendor>,
  payments: {
    query: orgPaymentsQuery,
    columns: paymentColumns,
    text: paymentText,
    describe: (p) => `Payment ${p.id}`,
    defaultSort: "created_at",
    filterPlaceholder: "Filter payments",
    open: (row) => ({ tab: "payments", row }),
  } satisfies TabConfig<import("@/bindings/types").Payment>,
};

function RecordTab({
  org,
  tab,
  search,
  setSearch,
}: {
  org: Org;
  tab: OrgTab;
  search: OrgSearch;
  setSearch: (patch: Partial<OrgSearch>) => void;
}) {
  const config = TABS[tab] as TabConfig<{ id: string }>;
  const rows = useQuery(config.query(org.id) as UseQueryOptions<{ id: string }[]>);
  const columns = useMemo(() => config.columns(org), [config, org]);
  const { filter, setFilter, filterRef } = useFilterBox(search.q, (q) => setSearch({ q }));
  const [selectedId, setSelectedId] = useState<string | null>(search.selected ?? search.open ?? null);
  const rootRef = useRef<HTMLDivElement>(null);
  // A row chosen in the search palette while this tab is open.
  useEffect(() => {
    if (search.selected) setSelectedId(search.selected);
  }, [search.selected]);

  const columnIds = useMemo(() => columns.map((c) => c.id ?? (c as { accessorKey?: string }).accessorKey), [columns]);
  const sortId = search.sort && columnIds.includes(search.sort) ? search.sort : config.defaultSort;
  const sorting: SortingState = useMemo(
    () => [{ id: sortId, desc: search.desc ?? (sortId === "issued_at" || sortId === "created_at") }],
    [sortId, search.desc],
  );

  const openRow = useCallback((row: { id: string }) => setSearch({ open: row.id, selected: row.id }), [setSearch]);
  const openRecord = useMemo(() => {
    if (!search.open || !rows.data) return null;
    const row = rows.data.find((r) => r.id === search.open);
    return row ? config.open(row) : null;
  }, [search.open, rows.data, config]);

  const noun = TAB_META[tab].noun;
  const total = rows.data?.length ?? 0;

  return (
    <div ref={rootRef} className="flex min-h-0 flex-1 flex-col gap-3">
      <div className="flex items-center gap-3">
        <FilterInput
          ref={filterRef}
          value={filter}
          onValueChange={setFilter}
          onArrowDown={() => focusTable(rootRef.current)}
          placeholder={config.filterPlaceholder}
          aria-label={`Filter ${noun}`}
          data-testid="table-filter"
        />
        {rows.isSuccess && (
          <span className="text-muted-foreground tabular text-xs">
            {formatCount(total)} {noun}
          </span>
        )}
      </div>
      {rows.isPending ? (
        <TableSkeleton />
      ) : rows.isError ? (
        <ErrorState error={rows.error} onRetry={() => void rows.refetch()} />
      ) : total === 0 ? (
        <EmptyState icon={InboxIcon} title={`No ${noun}`}>
          {org.name} has no {noun} in your local data. New records appear after the next sync.
        </EmptyState>
      ) : (
        <DataTable
          data={rows.data}
          columns={columns}
          getRowId={(r) => r.id}
          filterText={config.text}
          filter={filter}
          sorting={sorting}
          onSortingChange={(s) => setSearch({ sort: s[0]?.id, desc: s[0]?.desc })}
          selectedId={selectedId}
          onSelectedIdChange={setSelectedId}
          onOpen={openRow}
          label={`${TAB_META[tab].label} of ${org.name}`}
          describeRow={config.describe}
          keyboard={!openRecord}
          noMatches={
            <EmptyState title={`No ${noun} match`} className="py-8">
              Nothing matches “{filter}”. Check the spelling or clear the filter (Esc).
            </EmptyState>
          }
        />
      )}
      <RecordSheet
        org={org}
        record={openRecord}
        onClose={() => setSearch({ open: undefined })}
        onCloseAutoFocus={(e) => {
          e.preventDefault();
          focusTable(rootRef.current);
        }}
      />
    </div>
  );
}

/** "Request data export…": everything the platform holds about the customer, after an auditor approves. */
function DataExportAction({ org }: { org: Org }) {
  const { can } = useAccount();
  const { offline } = useSyncState();
  const [open, setOpen] = useState(false);
  if (!can("approvals:request")) return null;
  return (
    <>
      <Button
        variant="outline"
        size="sm"
        disabled={offline}
        title={offline ? OFFLINE_ACTION_REASON : undefined}
        onClick={() => setOpen(true)}
        data-testid="request-data_export"
      >
        <DownloadIcon aria-hidden="true" />
        Request data export…
      </Button>
      <RequestDialog mode={open ? { target: { kind: "data_export", org } } : null} onClose={() => setOpen(false)} />
    </>
  );
}
