import { useCallback, useMemo, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { createColumnHelper, type SortingState } from "@tanstack/react-table";
import { Building2Icon } from "lucide-react";
import type { Org } from "@/bindings/types";
import { Skeleton } from "@/components/ui/skeleton";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { FilterInput } from "@/components/filter-input";
import { NoAccess } from "@/components/no-access";
import { RegionBadge, SupportAccessBadge, supportAccessLabel } from "@/components/status-badge";
import { formatCount, formatDate } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { useDocumentTitle } from "@/lib/title";
import { orgsListQuery } from "./queries";
import type { CustomersSearch } from "./search";
import { focusTable, useFilterBox } from "./use-slash-focus";

const col = createColumnHelper<Org>();
const columns = [
  col.accessor("name", {
    header: "Name",
    meta: { width: "34%" },
    cell: (c) => <span className="font-medium">{c.getValue()}</span>,
  }),
  col.accessor("slug", {
    header: "Slug",
    meta: { width: "20%" },
    cell: (c) => <span className="text-muted-foreground font-mono text-xs">{c.getValue()}</span>,
  }),
  col.accessor("region", {
    header: "Region",
    meta: { width: "12%" },
    cell: (c) => <RegionBadge region={c.getValue()} />,
  }),
  col.accessor("support_access", {
    header: "Support access",
    meta: { width: "18%" },
    cell: (c) => <SupportAccessBadge mode={c.getValue()} />,
  }),
  col.accessor("created_at", {
    header: "Customer since",
    meta: { width: "16%" },
    cell: (c) => <span className="text-muted-foreground tabular">{formatDate(c.getValue())}</span>,
  }),
];

const filterText = (o: Org) => `${o.name} ${o.slug} ${o.region} ${supportAccessLabel(o.support_access)}`;

/** All customers in the user's scope: sortable, filterable, keyboard-driven. */
export function CustomersScreen() {
  useDocumentTitle("Customers");
  const { can } = useAccount();
  if (!can("orgs:read")) return <NoAccess />;
  return <CustomersTable />;
}

function CustomersTable() {
  const search = useSearch({ from: "/shell/customers" });
  const navigate = useNavigate({ from: "/customers" });
  const orgs = useQuery(orgsListQuery);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const rootRef = useRef<HTMLDivElement>(null);

  const setSearch = useCallback(
    (patch: Partial<CustomersSearch>) =>
      void navigate({ search: (prev) => ({ ...prev, ...patch }), replace: true }),
    [navigate],
  );

  const { filter, setFilter, filterRef } = useFilterBox(search.q, (q) => setSearch({ q }));

  const sorting: SortingState = useMemo(
    () => [{ id: search.sort ?? "name", desc: search.desc ?? false }],
    [search.sort, search.desc],
  );

  const open = useCallback(
    (org: Org) => void navigate({ to: "/customers/$orgId", params: { orgId: org.id } }),
    [navigate],
  );

  const total = orgs.data?.length ?? 0;

  return (
    <div ref={rootRef} className="flex h-full min-h-0 flex-col gap-3 p-6">
      <div className="flex items-end gap-4">
        <div className="min-w-0 flex-1">
          <h1 className="text-xl font-semibold tracking-tight">Customers</h1>
          <p className="text-muted-foreground text-sm">
            {orgs.isSuccess ? `${formatCount(total)} customers in your scope` : " "}
          </p>
        </div>
        <FilterInput
          ref={filterRef}
          value={filter}
          onValueChange={setFilter}
          onArrowDown={() => focusTable(rootRef.current)}
          placeholder="Filter by name, slug, region"
          aria-label="Filter customers"
          data-testid="table-filter"
        />
      </div>
      {orgs.isPending ? (
        <TableSkeleton />
      ) : orgs.isError ? (
        <ErrorState error={orgs.error} onRetry={() => void orgs.refetch()} />
      ) : total === 0 ? (
        <EmptyState icon={Building2Icon} title="No customers yet">
          No customer is in your scope in the local data. Sync now, or ask a security admin to
          check your scope.
        </EmptyState>
      ) : (
        <DataTable
          data={orgs.data}
          columns={columns}
          getRowId={(o) => o.id}
          filterText={filterText}
          filter={filter}
          sorting={sorting}
          onSortingChange={(s) =>
            setSearch({ sort: s[0]?.id as CustomersSearch["sort"], desc: s[0]?.desc || undefined })
          }
          selectedId={selectedId}
          onSelectedIdChange={setSelectedId}
          onOpen={open}
          label="Customers"
          describeRow={(o) => o.name}
          noMatches={
            <EmptyState title="No customer matches" className="py-8">
              Nothing matches “{filter}”. Check the spelling or clear the filter (Esc).
            </EmptyState>
          }
        />
      )}
    </div>
  );
}

export function TableSkeleton({ rows = 8 }: { rows?: number }) {
  return (
    <div className="rounded-md border" aria-busy="true" aria-label="Loading">
      <div className="flex gap-6 border-b px-3 py-2.5">
        <Skeleton className="h-3 w-24" />
        <Skeleton className="h-3 w-16" />
        <Skeleton className="h-3 w-16" />
      </div>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="flex items-center gap-6 border-b px-3 py-2.5 last:border-0">
          <Skeleton className="h-4 w-1/4" />
          <Skeleton className="h-4 w-1/6" />
          <Skeleton className="h-4 w-12" />
          <Skeleton className="ml-auto h-4 w-20" />
        </div>
      ))}
    </div>
  );
}
