import { useCallback, useMemo, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { createColumnHelper, type SortingState } from "@tanstack/react-table";
import { FilterXIcon, HeadsetIcon } from "lucide-react";
import type { ImpersonationSession } from "@/bindings/types";
import { Badge } from "@/components/ui/badge";
import { Checkbox } from "@/components/ui/checkbox";
import { Label } from "@/components/ui/label";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { FilterInput } from "@/components/filter-input";
import { ClearFilters, FilterSelect } from "@/components/filter-select";
import { NoAccess } from "@/components/no-access";
import { RelativeTime } from "@/components/relative-time";
import { formatCount } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { useDocumentTitle } from "@/lib/title";
import { orgsListQuery } from "@/screens/customers/queries";
import { TableSkeleton } from "@/screens/customers/customers-screen";
import { focusTable, useFilterBox } from "@/screens/customers/use-slash-focus";
import { sessionsQuery } from "./queries";
import { SESSION_LISTS, type SessionList, type SessionsSearch } from "./search";
import { SessionSheet, SessionStatusBadge } from "./session-sheet";

const LISTS: Record<SessionList, { label: string; help: string; empty: string }> = {
  to_approve: {
    label: "To approve",
    help: "Write sessions and sessions on a customer's admin wait for a supervisor who is not the agent.",
    empty: "No session waits for approval",
  },
  review: {
    label: "Review queue",
    help: "Ended sessions nobody has reviewed yet: read what the agent did, then mark it OK or flag it.",
    empty: "Every ended session has been reviewed",
  },
  reviewed: {
    label: "Reviewed",
    help: "Sessions already reviewed, with the outcome and the note.",
    empty: "No session reviewed yet",
  },
};

const col = createColumnHelper<ImpersonationSession>();

/** Supervisor review of support sessions: to approve, the review queue, reviewed; each with its timeline. */
export function SessionsScreen() {
  useDocumentTitle("Support sessions");
  const { can } = useAccount();
  if (!can("impersonation:approve") && !can("impersonation:review")) return <NoAccess what="support session review" />;
  return <Sessions />;
}

function Sessions() {
  const search = useSearch({ from: "/shell/sessions" });
  const navigate = useNavigate({ from: "/sessions" });
  const { can } = useAccount();
  const list = search.list ?? (can("impersonation:approve") ? "to_approve" : "review");
  const setSearch = useCallback(
    (patch: Partial<SessionsSearch>) => void navigate({ search: (prev) => ({ ...prev, ...patch }), replace: true }),
    [navigate],
  );
  const flagged = !!search.flagged;
  const lists = {
    to_approve: useQuery(sessionsQuery("to_approve", search.agent, false)),
    review: useQuery(sessionsQuery("review", search.agent, false)),
    reviewed: useQuery(sessionsQuery("reviewed", search.agent, flagged)),
  };
  const count = (l: SessionList) => lists[l].data?.items.filter((s) => !search.org || s.org_id === search.org).length;

  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="sessions">
      <header className="px-6 pt-5 pb-3">
        <h1 className="text-xl font-semibold tracking-tight">Support sessions</h1>
        <p className="text-muted-foreground text-sm">
          Agents acting as a customer user: approve the ones that need it, and review what each did.
        </p>
      </header>
      <Tabs
        value={list}
        onValueChange={(v) => setSearch({ list: v as SessionList, q: undefined, open: undefined, flagged: undefined })}
        className="min-h-0 flex-1 gap-3 px-6 pb-6"
      >
        <TabsList aria-label="Session lists">
          {SESSION_LISTS.map((l) => (
            <TabsTrigger key={l} value={l} data-testid={`list-${l}`} className="gap-2 px-3">
              {LISTS[l].label}
              {lists[l].isSuccess && (
                <span className="text-muted-foreground tabular text-xs font-normal" data-testid={`count-${l}`}>
                  {formatCount(count(l) ?? 0)}
                </span>
              )}
            </TabsTrigger>
          ))}
        </TabsList>
        {SESSION_LISTS.map((l) => (
          <TabsContent key={l} value={l} className="flex min-h-0 flex-col">
            {l === list && <SessionTable list={l} search={search} setSearch={setSearch} />}
          </TabsContent>
        ))}
      </Tabs>
      <SessionSheet id={search.open ?? null} onClose={() => setSearch({ open: undefined })} />
    </div>
  );
}

function SessionTable({
  list,
  search,
  setSearch,
}: {
  list: SessionList;
  search: SessionsSearch;
  setSearch: (patch: Partial<SessionsSearch>) => void;
}) {
  const sessions = useQuery(sessionsQuery(list, search.agent, !!search.flagged));
  const orgs = useQuery(orgsListQuery);
  const orgName = useMemo(() => {
    const byId = new Map((orgs.data ?? []).map((o) => [o.id, o.name]));
    return (id: string) => byId.get(id) ?? "Not in your local data";
  }, [orgs.data]);
  // Agents as the lists name them: the filter offers those seen.
  const agents = useQuery(sessionsQuery("review", undefined, false));
  const agentOptions = useMemo(() => {
    const seen = new Map<string, string>();
    for (const s of [...(agents.data?.items ?? []), ...(sessions.data?.items ?? [])]) seen.set(s.agent_id, s.agent_name);
    return [...seen].sort((a, b) => a[1].localeCompare(b[1]));
  }, [agents.data, sessions.data]);
  const items = useMemo(
    () => (sessions.data?.items ?? []).filter((s) => !search.org || s.org_id === search.org),
    [sessions.data, search.org],
  );
  const { filter, setFilter, filterRef } = useFilterBox(search.q, (q) => setSearch({ q }));
  const [selectedId, setSelectedId] = useState<string | null>(search.open ?? null);
  const [sorting, setSorting] = useState<SortingState>([{ id: "requested_at", desc: true }]);
  const rootRef = useRef<HTMLDivElement>(null);
  const narrowed = !!(search.agent || search.org || search.flagged);

  const columns = useMemo(
    () => [
      col.accessor("agent_name", {
        header: "Agent",
        meta: { width: "15%" },
        cell: (c) => <span className="font-medium">{c.getValue()}</span>,
      }),
      col.accessor((s) => orgName(s.org_id), {
        id: "org",
        header: "Customer",
        meta: { width: "15%" },
        cell: (c) => <span className="block truncate">{c.getValue()}</span>,
      }),
      col.accessor("scope", {
        header: "Scope",
        meta: { width: "8%" },
        cell: (c) => (
          <Badge variant={c.getValue() === "write" ? "amber" : "outline"}>{c.getValue() === "write" ? "Write" : "Read"}</Badge>
        ),
      }),
      col.accessor("reason", {
        header: "Reason",
        meta: { width: "26%" },
        cell: (c) => <span className="block truncate">{c.getValue()}</span>,
      }),
      col.accessor("ticket_ref", {
        header: "Ticket",
        meta: { width: "10%" },
        cell: (c) => <span className="font-mono text-xs">{c.getValue()}</span>,
      }),
      col.accessor("requested_at", {
        header: "Requested",
        meta: { width: "12%" },
        cell: (c) => <RelativeTime value={c.getValue()} className="text-muted-foreground" />,
      }),
      col.accessor("status", {
        header: "Status",
        meta: { width: "14%" },
        cell: (c) => <SessionStatusBadge session={c.row.original} />,
      }),
    ],
    [orgName],
  );

  return (
    <div ref={rootRef} className="flex min-h-0 flex-1 flex-col gap-3">
      <p className="text-muted-foreground text-sm">{LISTS[list].help}</p>
      <div className="flex flex-wrap items-center gap-2">
        <FilterSelect
          label="Agent"
          every="Every agent"
          value={search.agent}
          options={agentOptions}
          onChange={(agent) => setSearch({ agent })}
          className="w-44"
        />
        <FilterSelect
          label="Customer"
          every="Every customer"
          value={search.org}
          options={(orgs.data ?? []).map((o) => [o.id, o.name] as const)}
          onChange={(org) => setSearch({ org })}
          className="w-44"
          testId="filter-org"
        />
        {list === "reviewed" && (
          <Label className="ml-1 font-normal">
            <Checkbox
              checked={!!search.flagged}
              onCheckedChange={(v) => setSearch({ flagged: v === true || undefined })}
              data-testid="filter-flagged"
            />
            Flagged only
          </Label>
        )}
        {narrowed && (
          <ClearFilters onClear={() => setSearch({ agent: undefined, org: undefined, flagged: undefined })} />
        )}
        <div className="flex-1" />
        <FilterInput
          ref={filterRef}
          value={filter}
          onValueChange={setFilter}
          onArrowDown={() => focusTable(rootRef.current)}
          placeholder="Filter by agent, reason, ticket"
          aria-label="Filter sessions"
          data-testid="table-filter"
        />
      </div>
      {sessions.isPending ? (
        <TableSkeleton />
      ) : sessions.isError ? (
        <ErrorState error={sessions.error} onRetry={() => void sessions.refetch()} />
      ) : items.length === 0 ? (
        <EmptyState icon={narrowed ? FilterXIcon : HeadsetIcon} title={narrowed ? "No session matches these filters" : LISTS[list].empty}>
          {narrowed ? "Clear a filter to see more." : "Sessions appear here as agents start them."}
        </EmptyState>
      ) : (
        <DataTable
          data={items}
          columns={columns}
          getRowId={(s) => s.id}
          filterText={(s) => `${s.agent_name} ${orgName(s.org_id)} ${s.reason} ${s.ticket_ref}`}
          filter={filter}
          sorting={sorting}
          onSortingChange={setSorting}
          selectedId={selectedId}
          onSelectedIdChange={setSelectedId}
          onOpen={(s) => setSearch({ open: s.id })}
          label={LISTS[list].label}
          describeRow={(s) => `${s.agent_name}, ${orgName(s.org_id)}: ${s.reason}`}
          noMatches={
            <EmptyState title="No session matches" className="py-8">
              Nothing matches “{filter}”. Clear the filter (Esc).
            </EmptyState>
          }
        />
      )}
    </div>
  );
}
