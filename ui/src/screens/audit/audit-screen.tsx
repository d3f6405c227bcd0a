import { useCallback, useMemo, useState } from "react";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { createColumnHelper, type SortingState } from "@tanstack/react-table";
import { ScrollTextIcon } from "lucide-react";
import type { AuditEvent } from "@/bindings/types";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { Sheet, SheetContent, SheetDescription, SheetHeader, SheetTitle } from "@/components/ui/sheet";
import { Spinner } from "@/components/ui/spinner";
import { AuditEventFields } from "@/components/audit-event-fields";
import { DataTable } from "@/components/data-table";
import { ClearFilters } from "@/components/filter-select";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { NoAccess } from "@/components/no-access";
import { formatCount, formatDateTime, humanize } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { useDocumentTitle } from "@/lib/title";
import { orgsListQuery } from "@/screens/customers/queries";
import { TableSkeleton } from "@/screens/customers/customers-screen";
import { ExportButton } from "./export-dialog";
import { auditQuery } from "./queries";
import { useVerifyChain, VerifyChainButton, VerifyChainResult } from "./verify-chain";
import type { AuditFilters, AuditSearch } from "./search";

const col = createColumnHelper<AuditEvent>();
const columns = [
  col.accessor("at", {
    header: "When",
    meta: { width: "17%" },
    cell: (c) => <span className="tabular text-muted-foreground">{formatDateTime(c.getValue())}</span>,
  }),
  col.accessor((e) => e.actor.subject ?? "—", {
    id: "actor",
    header: "Actor",
    meta: { width: "19%" },
    cell: (c) => (
      <span className="flex min-w-0 items-center gap-1.5">
        <span className="truncate">{c.getValue()}</span>
        {c.row.original.impersonation_id && <Badge variant="amber">session</Badge>}
      </span>
    ),
  }),
  col.accessor("action", {
    header: "Action",
    meta: { width: "18%" },
    cell: (c) => <span className="block truncate font-mono text-xs">{c.getValue()}</span>,
  }),
  col.accessor((e) => (e.target_type ? `${e.target_type} ${e.target_id ?? ""}` : ""), {
    id: "target",
    header: "Target",
    meta: { width: "20%" },
    cell: (c) => <span className="text-muted-foreground block truncate font-mono text-xs">{c.getValue() || "—"}</span>,
  }),
  col.accessor("outcome", {
    header: "Outcome",
    meta: { width: "10%" },
    cell: (c) => (
      <Badge variant={c.getValue() === "success" ? "green" : c.getValue() === "denied" ? "amber" : "red"}>
        {humanize(c.getValue())}
      </Badge>
    ),
  }),
  col.accessor((e) => e.code ?? "", {
    id: "code",
    header: "Code",
    meta: { width: "16%" },
    cell: (c) => <span className="block truncate font-mono text-xs">{c.getValue()}</span>,
  }),
];

/** The audit log (auditors): every filter of the API in the URL, results virtualized, an event's whole record. */
export function AuditScreen() {
  useDocumentTitle("Audit log");
  const { can } = useAccount();
  if (!can("audit:read")) return <NoAccess what="the audit log" />;
  return <Audit />;
}

function Audit() {
  const search = useSearch({ from: "/shell/audit" });
  const navigate = useNavigate({ from: "/audit" });
  const setSearch = useCallback(
    (patch: Partial<AuditSearch>) => void navigate({ search: (prev) => ({ ...prev, ...patch }), replace: true }),
    [navigate],
  );
  const { open, ...rest } = search;
  // Only the schema's keys: the URL may carry others (the preview's ?scenario=).
  const filters: AuditFilters = Object.fromEntries(
    FILTER_KEYS.map((k) => [k, rest[k]]).filter(([, v]) => v !== undefined),
  );
  const events = useInfiniteQuery(auditQuery(filters));
  const rows = useMemo(() => events.data?.pages.flatMap((p) => p.items) ?? [], [events.data]);
  const [selectedId, setSelectedId] = useState<string | null>(open ?? null);
  const [sorting, setSorting] = useState<SortingState>([{ id: "at", desc: true }]);
  const openEvent = rows.find((e) => e.id === open) ?? null;
  const narrowed = Object.values(filters).some((v) => v !== undefined);
  const verify = useVerifyChain();

  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="audit">
      <header className="flex flex-wrap items-start gap-3 px-6 pt-5 pb-3">
        <div className="min-w-0 flex-1">
          <h1 className="text-xl font-semibold tracking-tight">Audit log</h1>
          <p className="text-muted-foreground text-sm">
            Every request to the platform, who made it and what came of it; append-only and hash-chained.
          </p>
        </div>
        <div className="flex items-center gap-2">
          <VerifyChainButton verify={verify} />
          <ExportButton filters={filters} />
        </div>
      </header>
      <div className="flex min-h-0 flex-1 flex-col gap-3 px-6 pb-6">
        <VerifyChainResult verify={verify} />
        <Filters filters={filters} setSearch={setSearch} />
        <div className="flex items-center gap-3 text-sm">
          <p className="text-muted-foreground flex-1" aria-live="polite" data-testid="audit-count">
            {events.isSuccess &&
              `${formatCount(rows.length)} event${rows.length === 1 ? "" : "s"}${events.hasNextPage ? " so far, newest first" : ""}`}
          </p>
          {narrowed && (
            <ClearFilters onClear={() => navigate({ search: {}, replace: true })} testId="audit-clear" />
          )}
        </div>
        {events.isPending ? (
          <TableSkeleton />
        ) : events.isError ? (
          <ErrorState error={events.error} onRetry={() => void events.refetch()} />
        ) : rows.length === 0 ? (
          <EmptyState icon={ScrollTextIcon} title={narrowed ? "No event matches these filters" : "The log is empty"}>
            {narrowed ? "Widen the time range or clear a filter." : "Events appear here as soon as anyone uses the platform."}
          </EmptyState>
        ) : (
          <>
            <DataTable
              data={rows}
              columns={columns}
              getRowId={(e) => e.id}
              filterText={(e) => `${e.action} ${e.actor.subject ?? ""} ${e.code ?? ""}`}
              filter=""
              sorting={sorting}
              onSortingChange={setSorting}
              selectedId={selectedId}
              onSelectedIdChange={setSelectedId}
              onOpen={(e) => setSearch({ open: e.id })}
              label="Audit events"
              describeRow={(e) => `${e.action} by ${e.actor.subject ?? "unknown"}, ${e.outcome}`}
              noMatches={null}
            />
            {events.hasNextPage && (
              <Button
                variant="outline"
                className="self-center"
                onClick={() => void events.fetchNextPage()}
                disabled={events.isFetchingNextPage}
                data-testid="audit-more"
              >
                {events.isFetchingNextPage && <Spinner />}
                Load older events
              </Button>
            )}
          </>
        )}
      </div>
      <Sheet open={!!openEvent} onOpenChange={(o) => !o && setSearch({ open: undefined })}>
        <SheetContent className="w-full gap-0 sm:max-w-xl" data-testid="audit-detail">
          {openEvent && (
            <>
              <SheetHeader className="border-b pr-12">
                <SheetTitle className="font-mono text-base">{openEvent.action}</SheetTitle>
                <SheetDescription>
                  {humanize(openEvent.outcome)} · {formatDateTime(openEvent.at)}
                </SheetDescription>
              </SheetHeader>
              <div className="overflow-auto px-4 py-3">
                <AuditEventFields event={openEvent} className="text-xs" />
              </div>
            </>
          )}
        </SheetContent>
      </Sheet>
    </div>
  );
}

const FILTER_KEYS = ["org", "actor", "action", "target_type", "target_id", "outcome", "request_id", "session", "from", "to"] as const;

const TEXT_FILTERS: { key: keyof AuditFilters; label: string; placeholder: string }[] = [
  { key: "actor", label: "Actor", placeholder: "e.g. staff-alice" },
  { key: "action", label: "Action", placeholder: "e.g. reveal" },
  { key: "target_type", label: "Target type", placeholder: "e.g. user" },
  { key: "target_id", label: "Target id", placeholder: "Any" },
  { key: "request_id", label: "Request id", placeholder: "Any" },
  { key: "session", label: "Support session", placeholder: "Any" },
];

/** "2026-12-01" or "2026-12-01 14:30" (local time) → RFC 3339; "" → no bound; null: not a time. */
export function parseWhen(text: string, endOfDay: boolean): string | undefined | null {
  const t = text.trim();
  if (!t) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}))?$/.exec(t);
  if (!m) return null;
  const [y, mo, d, h, mi] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x)));
  const date = h === undefined ? new Date(y!, mo! - 1, d!, endOfDay ? 23 : 0, endOfDay ? 59 : 0, endOfDay ? 59 : 0) : new Date(y!, mo! - 1, d!, h, mi);
  if (Number.isNaN(date.getTime()) || date.getMonth() !== mo! - 1 || date.getDate() !== d) return null;
  return date.toISOString();
}

/** An RFC 3339 time as the box shows it: local "2026-12-01 14:30". */
function showWhen(iso?: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Each box applies on Enter or when it loses focus; the URL holds the result. */
function Filters({ filters, setSearch }: { filters: AuditFilters; setSearch: (p: Partial<AuditSearch>) => void }) {
  const orgs = useQuery(orgsListQuery);
  const apply = (key: keyof AuditFilters, value: string) => setSearch({ [key]: value.trim() || undefined });
  return (
    <div className="grid grid-cols-2 gap-x-3 gap-y-2 md:grid-cols-4 xl:grid-cols-6" data-testid="audit-filters" role="search">
      {TEXT_FILTERS.map((f) => (
        <div key={f.key} className="grid gap-1">
          <Label htmlFor={`audit-${f.key}`} className="text-muted-foreground text-xs font-normal">
            {f.label}
          </Label>
          <Input
            id={`audit-${f.key}`}
            key={`${f.key}:${filters[f.key] ?? ""}`}
            defaultValue={filters[f.key] ?? ""}
            placeholder={f.placeholder}
            className="h-8 font-mono text-xs"
            onBlur={(e) => e.target.value.trim() !== (filters[f.key] ?? "") && apply(f.key, e.target.value)}
            onKeyDown={(e) => e.key === "Enter" && apply(f.key, e.currentTarget.value)}
            data-testid={`audit-${f.key}`}
          />
        </div>
      ))}
      <div className="grid gap-1">
        <Label className="text-muted-foreground text-xs font-normal">Outcome</Label>
        <Select
          value={filters.outcome ?? "all"}
          onValueChange={(v) => setSearch({ outcome: v === "all" ? undefined : (v as AuditFilters["outcome"]) })}
        >
          <SelectTrigger size="sm" className="w-full" aria-label="Outcome" data-testid="audit-outcome">
            <SelectValue />
          </SelectTrigger>
          <SelectContent>
            <SelectItem value="all">Any outcome</SelectItem>
            <SelectItem value="success">Success</SelectItem>
            <SelectItem value="denied">Denied</SelectItem>
            <SelectItem value="error">Error</SelectItem>
          </SelectContent>
        </Select>
      </div>
      <div className="grid gap-1">
        <Label className="text-muted-foreground text-xs font-normal">Customer</Label>
        <Select value={filters.org ?? "all"} onValueChange={(v) => setSearch({ org: v === "all" ? undefined : v })}>
          <SelectTrigger size="sm" className="w-full" aria-label="Customer" data-testid="audit-org">
            <SelectValue />
          </SelectTrigger>
          <SelectContent>
            <SelectItem value="all">Every customer</SelectItem>
            {(orgs.data ?? []).map((o) => (
              <SelectItem key={o.id} value={o.id}>
                {o.name}
              </SelectItem>
            ))}
          </SelectContent>
        </Select>
      </div>
      {(["from", "to"] as const).map((k) => (
        <WhenInput key={`${k}:${filters[k] ?? ""}`} which={k} value={filters[k]} onChange={(v) => setSearch({ [k]: v })} />
      ))}
    </div>
  );
}

/** From / To as typed text (local time); a time that is not one says so and filters nothing. */
function WhenInput({
  which,
  value,
  onChange,
}: {
  which: "from" | "to";
  value?: string;
  onChange: (iso: string | undefined) => void;
}) {
  const [bad, setBad] = useState(false);
  const apply = (text: string) => {
    const iso = parseWhen(text, which === "to");
    setBad(iso === null);
    if (iso !== null && iso !== value) onChange(iso);
  };
  return (
    <div className="grid gap-1">
      <Label htmlFor={`audit-${which}`} className="text-muted-foreground text-xs font-normal">
        {which === "from" ? "From" : "To"}
      </Label>
      <Input
        id={`audit-${which}`}
        defaultValue={showWhen(value)}
        placeholder="YYYY-MM-DD HH:MM"
        aria-invalid={bad}
        aria-describedby={bad ? `audit-${which}-error` : undefined}
        className="tabular h-8 text-xs"
        onBlur={(e) => apply(e.target.value)}
        onKeyDown={(e) => e.key === "Enter" && apply(e.currentTarget.value)}
        data-testid={`audit-${which}`}
      />
      {bad && (
        <p id={`audit-${which}-error`} className="text-destructive text-xs">
          A date like 2026-12-01, or 2026-12-01 14:30
        </p>
      )}
    </div>
  );
}
