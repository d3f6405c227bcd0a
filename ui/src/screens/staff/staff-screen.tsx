import { useCallback, useMemo, useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { createColumnHelper, type SortingState } from "@tanstack/react-table";
import { HourglassIcon, UserCheckIcon, UserMinusIcon, UserPlusIcon, UsersIcon } from "lucide-react";
import { toast } from "sonner";
import { staffUpdate } from "@/bindings/commands";
import type { StaffMember, StaffRole } from "@/bindings/types";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { ConfirmDestructive } from "@/components/confirm-destructive";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { FilterInput } from "@/components/filter-input";
import { NoAccess } from "@/components/no-access";
import { RelativeTime } from "@/components/relative-time";
import { refusalWords } from "@/lib/errors";
import { formatCount, humanize } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";
import { useDocumentTitle } from "@/lib/title";
import { TableSkeleton } from "@/screens/customers/customers-screen";
import { focusTable, useFilterBox } from "@/screens/customers/use-slash-focus";
import { AddStaffDialog } from "./add-staff-dialog";
import { useProviders } from "./providers";
import { firstSignInsQuery, staffQuery } from "./queries";
import { INACTIVE_DAYS, STAFF_VIEWS, type StaffSearch, type StaffView } from "./search";
import { StaffSheet, isSelf, scopeWords } from "./staff-sheet";

/** Roles that grant more than reading: what the access review lists (the server's own list). */
export const PRIVILEGED_ROLES: StaffRole[] = [
  "security_admin",
  "finance_controller",
  "finance_approver",
  "support_supervisor",
  "auditor",
];

export const staffRoleLabel = (r: StaffRole) => humanize(r);

const VIEWS: Record<StaffView, { label: string; help: string; empty: string }> = {
  all: { label: "All staff", help: "Every staff account, active or not.", empty: "No staff account yet" },
  pending: {
    label: "Waiting for access",
    help: "Created by a first sign-in, with no role yet. Check who each one is, then grant access — or deactivate the account.",
    empty: "Nobody is waiting for access",
  },
  privileged: {
    label: "Privileged roles",
    help: "Active accounts holding a role that decides, approves, reviews or administers. Check each still needs it.",
    empty: "Nobody holds a privileged role",
  },
  inactive: {
    label: `Inactive ${INACTIVE_DAYS}+ days`,
    help: `Active accounts that made no request for ${INACTIVE_DAYS} days or more, or never did. Revoke what is no longer used.`,
    empty: `Every active account was used in the last ${INACTIVE_DAYS} days`,
  },
};

const col = createColumnHelper<StaffMember>();

/** Staff access (security admin): who holds which roles, scope and limits; change, deactivate, review. */
export function StaffScreen() {
  useDocumentTitle("Staff access");
  const { can } = useAccount();
  if (!can("staff:read")) return <NoAccess what="staff access" />;
  return <Staff />;
}

function Staff() {
  const search = useSearch({ from: "/shell/staff" });
  const { can } = useAccount();
  const queryClient = useQueryClient();
  const providers = useProviders();
  const [adding, setAdding] = useState(false);
  const navigate = useNavigate({ from: "/staff" });
  const view = search.view ?? "all";
  const setSearch = useCallback(
    (patch: Partial<StaffSearch>) => void navigate({ search: (prev) => ({ ...prev, ...patch }), replace: true }),
    [navigate],
  );
  const lists = {
    all: useQuery(staffQuery("all")),
    pending: useQuery(staffQuery("pending")),
    privileged: useQuery(staffQuery("privileged")),
    inactive: useQuery(staffQuery("inactive")),
  };
  const open = lists.all.data?.find((m) => m.id === search.open) ?? null;
  const added = (m: StaffMember) => {
    // The new account is in the list at once, so its sheet opens; the lists are read again.
    queryClient.setQueryData(staffQuery("all").queryKey, (all) => all && [...all.filter((x) => x.id !== m.id), m]);
    void queryClient.invalidateQueries({ queryKey: ["staff_list"] });
    const provider = providers.find((p) => p.issuer === m.issuer)?.name;
    toast.success(`Added: ${m.display_name}`, {
      description: `They can sign in${provider ? ` with ${provider}` : ""} now, with the access you gave.`,
    });
    setAdding(false);
    setSearch({ open: m.id });
  };

  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="staff">
      <header className="flex items-start gap-4 px-6 pt-5 pb-3">
        <div className="min-w-0 flex-1">
          <h1 className="text-xl font-semibold tracking-tight">Staff access</h1>
          <p className="text-muted-foreground text-sm">
            Roles, customer scope and approval limits of every staff account; deactivate an account at once
            when it is compromised.
          </p>
        </div>
        {can("staff:manage") && (
          <Button onClick={() => setAdding(true)} className="shrink-0" data-testid="add-staff">
            <UserPlusIcon aria-hidden="true" />
            Add staff member
          </Button>
        )}
      </header>
      <Tabs
        value={view}
        onValueChange={(v) => setSearch({ view: v as StaffView, q: undefined })}
        className="min-h-0 flex-1 gap-3 px-6 pb-6"
      >
        <TabsList aria-label="Staff lists">
          {STAFF_VIEWS.map((v) => (
            <TabsTrigger key={v} value={v} data-testid={`view-${v}`} className="gap-2 px-3">
              {VIEWS[v].label}
              {lists[v].isSuccess && (
                <span className="text-muted-foreground tabular text-xs font-normal" data-testid={`count-${v}`}>
                  {formatCount(lists[v].data.length)}
                </span>
              )}
            </TabsTrigger>
          ))}
        </TabsList>
        {STAFF_VIEWS.map((v) => (
          <TabsContent key={v} value={v} className="flex min-h-0 flex-col">
            {v === view && <StaffList view={v} search={search} setSearch={setSearch} />}
          </TabsContent>
        ))}
      </Tabs>
      <StaffSheet
        member={open}
        pending={!!open && !!lists.pending.data?.some((m) => m.id === open.id)}
        onClose={() => setSearch({ open: undefined })}
      />
      <AddStaffDialog open={adding} onClose={() => setAdding(false)} onAdded={added} />
    </div>
  );
}

function StaffList({
  view,
  search,
  setSearch,
}: {
  view: StaffView;
  search: StaffSearch;
  setSearch: (patch: Partial<StaffSearch>) => void;
}) {
  const staff = useQuery(staffQuery(view));
  const { account, can } = useAccount();
  const { filter, setFilter, filterRef } = useFilterBox(search.q, (q) => setSearch({ q }));
  const [selectedId, setSelectedId] = useState<string | null>(search.open ?? null);
  const [sorting, setSorting] = useState<SortingState>([{ id: "name", desc: false }]);
  const [revoking, setRevoking] = useState<StaffMember | null>(null);
  const rootRef = useRef<HTMLDivElement>(null);
  const review = view !== "all";
  const waitingView = view === "pending";
  const manage = can("staff:manage");
  const providers = useProviders();
  const waiting = useQuery(staffQuery("pending")).data;
  const waitingIds = useMemo(() => new Set(waiting?.map((m) => m.id)), [waiting]);
  // When each one first signed in is in the audit log (reading it needs audit:read).
  const showFirstSignIn = waitingView && can("audit:read");
  const firstSignIns = useQuery({ ...firstSignInsQuery, enabled: showFirstSignIn });
  const providerName = useCallback(
    (issuer: string) => providers.find((p) => p.issuer === issuer)?.name ?? issuer,
    [providers],
  );

  const columns = useMemo(() => {
    const name = col.accessor("display_name", {
      id: "name",
      header: "Name",
      meta: { width: waitingView ? "18%" : review ? "17%" : "19%" },
      cell: (c) => (
        <span className="flex min-w-0 items-center gap-2">
          <span className="truncate font-medium">{c.getValue()}</span>
          {isSelf(account, c.row.original) && <Badge variant="outline">You</Badge>}
        </span>
      ),
    });
    const email = col.accessor("email", {
      header: "E-mail",
      meta: { width: waitingView ? "22%" : "19%" },
      cell: (c) => <span className="text-muted-foreground block truncate">{c.getValue()}</span>,
    });
    if (waitingView) {
      // Who asked, at which provider, since when: enough to recognise them before granting.
      return [
        name,
        email,
        col.accessor((m) => providerName(m.issuer), {
          id: "provider",
          header: "Provider",
          meta: { width: "16%" },
          cell: (c) => (
            <span className="block truncate" title={c.row.original.issuer}>
              {c.getValue()}
            </span>
          ),
        }),
        col.accessor("subject", {
          header: "Subject",
          meta: { width: "14%" },
          cell: (c) => (
            <span className="text-muted-foreground block truncate font-mono text-xs" title={c.getValue()}>
              {c.getValue()}
            </span>
          ),
        }),
        ...(showFirstSignIn
          ? [
              // A display column: the times arrive after the rows, and a row caches its values.
              col.display({
                id: "first_sign_in",
                header: "First sign-in",
                meta: { width: "12%" },
                cell: (c) => {
                  const at = firstSignIns.data?.get(c.row.original.id);
                  return at ? (
                    <RelativeTime value={at} className="text-muted-foreground" />
                  ) : (
                    <span className="text-muted-foreground">
                      <span aria-hidden="true">—</span>
                      <span className="sr-only">Not known</span>
                    </span>
                  );
                },
              }),
            ]
          : []),
        ...(manage
          ? [
              col.display({
                id: "grant",
                header: () => <span className="sr-only">Grant access</span>,
                meta: { width: "18%", align: "right" as const },
                cell: (c) =>
                  isSelf(account, c.row.original) ? null : (
                    <Button
                      size="sm"
                      variant="outline"
                      className="h-7"
                      onClick={(e) => {
                        e.stopPropagation();
                        setSearch({ open: c.row.original.id });
                      }}
                      data-testid="grant"
                    >
                      <UserCheckIcon aria-hidden="true" />
                      Grant access
                    </Button>
                  ),
              }),
            ]
          : []),
      ];
    }
    return [
      name,
      email,
      col.accessor((m) => m.roles.map(staffRoleLabel).join(", "), {
        id: "roles",
        header: "Roles",
        meta: { width: review ? "20%" : "24%" },
        cell: (c) => (
          <span className="block truncate" title={c.getValue()}>
            {c.getValue() || <span className="text-muted-foreground">No role</span>}
          </span>
        ),
      }),
      col.accessor((m) => scopeWords(m.scope), {
        id: "scope",
        header: "Scope",
        meta: { width: "12%" },
        cell: (c) => <span className="block truncate">{c.getValue()}</span>,
      }),
      col.accessor((m) => m.last_active_at ?? "", {
        id: "last_active_at",
        header: "Last activity",
        meta: { width: "12%" },
        cell: (c) =>
          c.row.original.last_active_at ? (
            <RelativeTime value={c.row.original.last_active_at} className="text-muted-foreground" />
          ) : (
            <span className="text-muted-foreground">Never</span>
          ),
      }),
      col.accessor("active", {
        header: "Status",
        meta: { width: "12%" },
        cell: (c) =>
          !c.getValue() ? (
            <Badge variant="red" data-testid="deactivated">
              Deactivated
            </Badge>
          ) : waitingIds.has(c.row.original.id) ? (
            <Badge variant="amber" data-testid="waiting" title="Waiting for access">
              Waiting
            </Badge>
          ) : (
            <Badge variant="green">Active</Badge>
          ),
      }),
      ...(review && manage
        ? [
            col.display({
              id: "revoke",
              header: () => <span className="sr-only">Revoke</span>,
              meta: { width: "8%", align: "right" as const },
              cell: (c) =>
                isSelf(account, c.row.original) ? null : (
                  <Button
                    size="sm"
                    variant="ghost"
                    className="text-destructive h-7"
                    onClick={(e) => {
                      e.stopPropagation();
                      setRevoking(c.row.original);
                    }}
                    data-testid="revoke"
                  >
                    Revoke
                  </Button>
                ),
            }),
          ]
        : []),
    ];
  }, [account, manage, review, waitingView, waitingIds, providerName, showFirstSignIn, firstSignIns.data, setSearch]);

  return (
    <div ref={rootRef} className="flex min-h-0 flex-1 flex-col gap-3">
      <div className="flex items-center gap-3">
        <p className="text-muted-foreground flex-1 text-sm">{VIEWS[view].help}</p>
        <FilterInput
          ref={filterRef}
          value={filter}
          onValueChange={setFilter}
          onArrowDown={() => focusTable(rootRef.current)}
          placeholder="Filter by name, e-mail, role"
          aria-label="Filter staff"
          data-testid="table-filter"
        />
      </div>
      {staff.isPending ? (
        <TableSkeleton />
      ) : staff.isError ? (
        <ErrorState error={staff.error} onRetry={() => void staff.refetch()} />
      ) : staff.data.length === 0 ? (
        <EmptyState icon={waitingView ? HourglassIcon : UsersIcon} title={VIEWS[view].empty} testId={`empty-${view}`}>
          {view === "all"
            ? "Accounts appear here when they are onboarded."
            : waitingView
              ? "When someone signs in for the first time at a provider that creates accounts on first sign-in, they wait here for you to grant them access."
              : "Nothing to review here today."}
        </EmptyState>
      ) : (
        <DataTable
          data={staff.data}
          columns={columns}
          getRowId={(m) => m.id}
          filterText={(m) =>
            `${m.display_name} ${m.email} ${m.roles.map(staffRoleLabel).join(" ")}${waitingView ? ` ${providerName(m.issuer)} ${m.subject}` : ""}`
          }
          filter={filter}
          sorting={sorting}
          onSortingChange={setSorting}
          selectedId={selectedId}
          onSelectedIdChange={setSelectedId}
          onOpen={(m) => setSearch({ open: m.id })}
          label={VIEWS[view].label}
          describeRow={(m) =>
            waitingView
              ? `${m.display_name}, waiting for access, ${providerName(m.issuer)}`
              : `${m.display_name}, ${m.roles.map(staffRoleLabel).join(", ") || "no role"}`
          }
          noMatches={
            <EmptyState title="Nobody matches" className="py-8">
              Nothing matches “{filter}”. Clear the filter (Esc).
            </EmptyState>
          }
        />
      )}
      <RevokeConfirm member={revoking} view={view} onClose={() => setRevoking(null)} />
    </div>
  );
}

/**
 * The review's one-click revoke, after a confirmation naming what goes: from the privileged
 * list the privileged roles; from the inactive list every role. The account stays (its
 * history is the audit trail's); deactivating it is the incident-response action in its sheet.
 */
function RevokeConfirm({
  member,
  view,
  onClose,
}: {
  member: StaffMember | null;
  view: StaffView;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const { offline } = useSyncState();
  const keep = (r: StaffRole) => view === "privileged" && !PRIVILEGED_ROLES.includes(r);
  const revoke = useMutation({
    mutationFn: (m: StaffMember) =>
      staffUpdate(m.id, {
        roles: m.roles.filter(keep),
        scope: m.scope,
        approval_limits: m.approval_limits,
        active: m.active,
      }),
    onSuccess: (m) => {
      void queryClient.invalidateQueries({ queryKey: ["staff_list"] });
      toast.success(`Access revoked: ${m.display_name}`, {
        description: "It takes effect on their next request; their local data is purged at the next sync.",
      });
      onClose();
    },
    onError: (error) => {
      toast.error("Access was not revoked", { description: refusalWords(error) });
      onClose();
    },
  });
  const losing = member?.roles.filter((r) => !keep(r)) ?? [];
  return (
    <ConfirmDestructive
      open={member !== null}
      onOpenChange={(o) => !o && onClose()}
      title={`Revoke ${member?.display_name ?? ""}'s ${view === "privileged" ? "privileged roles" : "access"}?`}
      description={
        losing.length
          ? `They lose ${losing.map(staffRoleLabel).join(", ")} from their next request.${offline ? ` ${OFFLINE_ACTION_REASON}` : ""}`
          : "They hold no role to revoke."
      }
      cancel="Keep"
      action={
        <>
          <UserMinusIcon aria-hidden="true" />
          Revoke {view === "privileged" ? "privileged roles" : "every role"}
        </>
      }
      pending={revoke.isPending}
      onConfirm={() => member && !offline && revoke.mutate(member)}
      testId="revoke-confirm"
    />
  );
}
