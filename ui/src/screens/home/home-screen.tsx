import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import {
  Building2Icon,
  ChevronRightIcon,
  HeadsetIcon,
  StampIcon,
  HardDriveIcon,
  MemoryStickIcon,
  ShieldOffIcon,
} from "lucide-react";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Kbd } from "@/components/ui/kbd";
import { Skeleton } from "@/components/ui/skeleton";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { RelativeTime } from "@/components/relative-time";
import { RegionBadge, SupportAccessBadge } from "@/components/status-badge";
import { formatCount, humanize } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { orgsRecentQuery, settingsQuery, syncStatusQuery } from "@/lib/queries";
import { useDocumentTitle } from "@/lib/title";
import { approvalsQuery } from "@/screens/approvals/queries";
import { sessionsQuery } from "@/screens/sessions/queries";
import { useSupport } from "@/screens/support/queries";

function greeting(now: Date): string {
  const h = now.getHours();
  return h < 5 ? "Good evening" : h < 12 ? "Good morning" : h < 18 ? "Good afternoon" : "Good evening";
}

export function HomeScreen() {
  useDocumentTitle("Home");
  const { account, can } = useAccount();
  const firstName = account?.display_name.split(/\s+/)[0] ?? "";

  return (
    <div className="mx-auto grid w-full max-w-6xl gap-6 p-6" data-testid="home">
      <div>
        <h1 className="text-xl font-semibold tracking-tight">
          {greeting(new Date())}, {firstName}
        </h1>
        <p className="text-muted-foreground mt-1 text-sm">
          {account &&
            [
              account.roles.map(humanize).join(", ") || "No roles",
              account.scope.all_orgs
                ? "All customers"
                : account.scope.regions.length > 0
                  ? `Customers in ${account.scope.regions.join(", ")}`
                  : `${account.scope.org_ids.length} assigned customers`,
            ].join(" · ")}
        </p>
      </div>
      <div className="grid items-start gap-6 lg:grid-cols-[minmax(0,1fr)_320px]">
        <RecentCustomers allowed={can("orgs:read")} />
        <div className="grid gap-6">
          <WorkQueue />
          <SyncCard />
          <ShortcutsCard />
        </div>
      </div>
    </div>
  );
}

function RecentCustomers({ allowed }: { allowed: boolean }) {
  const recent = useQuery({ ...orgsRecentQuery, enabled: allowed });
  return (
    <Card className="gap-0 py-0">
      <CardHeader className="border-b py-3">
        <CardTitle className="text-sm">Recent customers</CardTitle>
      </CardHeader>
      <CardContent className="px-0">
        {!allowed ? (
          <EmptyState icon={ShieldOffIcon} title="No access to customer records">
            You don't have access to customer records. Ask a security admin.
          </EmptyState>
        ) : recent.isPending ? (
          <ul aria-busy="true" aria-label="Loading recent customers">
            {[0, 1, 2, 3].map((i) => (
              <li key={i} className="flex items-center gap-3 border-b px-4 py-3 last:border-0">
                <Skeleton className="h-4 w-40" />
                <Skeleton className="h-4 w-16" />
                <Skeleton className="ml-auto h-5 w-24" />
              </li>
            ))}
          </ul>
        ) : recent.isError ? (
          <ErrorState error={recent.error} onRetry={() => void recent.refetch()} />
        ) : recent.data.length === 0 ? (
          <EmptyState icon={Building2Icon} title="No recent customers">
            Customers you open appear here — press <Kbd>Ctrl</Kbd> <Kbd>K</Kbd> to find one.
          </EmptyState>
        ) : (
          <ul>
            {recent.data.map((org) => (
              <li key={org.id} className="border-b last:border-0">
                <Link
                  to="/customers/$orgId"
                  params={{ orgId: org.id }}
                  data-testid="recent-customer"
                  className="hover:bg-muted/50 focus-visible:ring-ring/60 flex items-center gap-3 px-4 py-2.5 outline-none focus-visible:ring-[3px] focus-visible:ring-inset"
                >
                  <span className="min-w-0 flex-1">
                    <span className="block truncate text-sm font-medium">{org.name}</span>
                    <span className="text-muted-foreground block font-mono text-xs">{org.slug}</span>
                  </span>
                  <RegionBadge region={org.region} />
                  <SupportAccessBadge mode={org.support_access} />
                  <ChevronRightIcon className="text-muted-foreground size-4" aria-hidden="true" />
                </Link>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}

/** What waits for this person, by what their roles let them do; each line opens its list. */
function WorkQueue() {
  const { can } = useAccount();
  const { support } = useSupport();
  const decide = can("approvals:decide");
  const request = can("approvals:request");
  const approve = can("impersonation:approve");
  const review = can("impersonation:review");
  const toDecide = useQuery({ ...approvalsQuery("to_decide"), enabled: decide });
  const requested = useQuery({ ...approvalsQuery("requested"), enabled: request });
  const toApprove = useQuery({ ...sessionsQuery("to_approve", undefined, false), enabled: approve });
  const toReview = useQuery({ ...sessionsQuery("review", undefined, false), enabled: review });
  const lines = [
    decide && { key: "to-decide", icon: StampIcon, q: toDecide, words: (n: number) => `${n === 1 ? "request waits" : "requests wait"} for your decision`, to: "/approvals" as const, search: { list: "to_decide" as const } },
    request && { key: "requested", icon: StampIcon, q: requested, words: (n: number) => `of your ${n === 1 ? "request is" : "requests are"} pending`, to: "/approvals" as const, search: { list: "requested" as const } },
    approve && { key: "to-approve", icon: HeadsetIcon, q: toApprove, words: (n: number) => `support ${n === 1 ? "session waits" : "sessions wait"} for your approval`, to: "/sessions" as const, search: { list: "to_approve" as const } },
    review && { key: "to-review", icon: HeadsetIcon, q: toReview, words: (n: number) => `ended ${n === 1 ? "session" : "sessions"} to review`, to: "/sessions" as const, search: { list: "review" as const } },
  ].filter((l) => !!l);
  const agent = can("impersonation:start");
  if (lines.length === 0 && !agent) return null;
  return (
    <Card className="gap-3" data-testid="work-queue">
      <CardHeader>
        <CardTitle className="text-sm">Your work</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-1 text-sm">
        {agent && (
          <p className="text-muted-foreground flex items-center gap-2 py-1" data-testid="queue-support">
            <HeadsetIcon className="size-4 shrink-0" aria-hidden="true" />
            {support
              ? support.session.status === "active"
                ? `In a support session with ${support.subject_name}.`
                : `Your session with ${support.subject_name} waits for a supervisor.`
              : "No support session. Start one from a customer user's page."}
          </p>
        )}
        {lines.map((l) => {
          const Icon = l.icon;
          const n = l.q.data?.items.length;
          return (
            <Link
              key={l.key}
              to={l.to}
              search={l.search}
              data-testid={`queue-${l.key}`}
              className="hover:bg-muted/50 focus-visible:ring-ring/60 -mx-2 flex items-center gap-2 rounded-md px-2 py-1.5 outline-none focus-visible:ring-[3px]"
            >
              <Icon className="text-muted-foreground size-4 shrink-0" aria-hidden="true" />
              {l.q.isPending ? (
                <Skeleton className="h-4 w-40" />
              ) : l.q.isError ? (
                <span className="text-muted-foreground">Could not be counted (offline?)</span>
              ) : (
                <span>
                  <span className="tabular font-medium">{formatCount(n ?? 0)}</span> {l.words(n ?? 0)}
                </span>
              )}
              <ChevronRightIcon className="text-muted-foreground ml-auto size-4" aria-hidden="true" />
            </Link>
          );
        })}
      </CardContent>
    </Card>
  );
}

function SyncCard() {
  const status = useQuery(syncStatusQuery);
  const settings = useQuery(settingsQuery);
  const cache = settings.data?.cache;
  return (
    <Card className="gap-3">
      <CardHeader>
        <CardTitle className="text-sm">Local data</CardTitle>
        <CardDescription>Read from this computer; works offline.</CardDescription>
      </CardHeader>
      <CardContent>
        {status.isPending ? (
          <div className="grid gap-2" aria-busy="true">
            <Skeleton className="h-4 w-full" />
            <Skeleton className="h-4 w-2/3" />
          </div>
        ) : status.isError ? (
          <ErrorState error={status.error} className="py-4" onRetry={() => void status.refetch()} />
        ) : (
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
            <dt className="text-muted-foreground">Records</dt>
            <dd className="tabular text-right">{formatCount(status.data.records)}</dd>
            <dt className="text-muted-foreground">Last sync</dt>
            <dd className="text-right">
              {status.data.last_synced_at ? <RelativeTime value={status.data.last_synced_at} /> : "Never"}
            </dd>
            <dt className="text-muted-foreground">Stored</dt>
            <dd className="flex items-center justify-end gap-1.5 text-right">
              {cache?.mode === "memory_only" ? (
                <>
                  <MemoryStickIcon className="size-3.5 text-amber-600 dark:text-amber-400" aria-hidden="true" />
                  Memory only
                </>
              ) : cache ? (
                <>
                  <HardDriveIcon className="size-3.5 text-emerald-600 dark:text-emerald-400" aria-hidden="true" />
                  Encrypted on disk
                </>
              ) : (
                "—"
              )}
            </dd>
          </dl>
        )}
      </CardContent>
    </Card>
  );
}

function ShortcutsCard() {
  const rows: [string, string[]][] = [
    ["Find anything", ["Ctrl", "K"]],
    ["Customers", ["G", "C"]],
    ["Move in tables", ["J", "K"]],
    ["All shortcuts", ["?"]],
  ];
  return (
    <Card className="gap-3">
      <CardHeader>
        <CardTitle className="text-sm">Keyboard</CardTitle>
      </CardHeader>
      <CardContent>
        <dl className="grid gap-2 text-sm">
          {rows.map(([label, keys]) => (
            <div key={label} className="flex items-center justify-between">
              <dt className="text-muted-foreground">{label}</dt>
              <dd className="flex gap-1">
                {keys.map((k) => (
                  <Kbd key={k}>{k}</Kbd>
                ))}
              </dd>
            </div>
          ))}
        </dl>
      </CardContent>
    </Card>
  );
}
