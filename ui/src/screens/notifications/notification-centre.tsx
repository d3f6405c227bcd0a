import { useCallback, useEffect, useMemo, useState } from "react";
import { Link } from "@tanstack/react-router";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { BellIcon, CheckCheckIcon, CloudOffIcon } from "lucide-react";
import { notificationsList, notificationsWatch } from "@/bindings/commands";
import type { Notification } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import { Popover, PopoverContent, PopoverTrigger } from "@/components/ui/popover";
import { Spinner } from "@/components/ui/spinner";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { RelativeTime } from "@/components/relative-time";
import { errorCode } from "@/lib/errors";
import { useAccount } from "@/lib/permissions";
import { useSyncState } from "@/lib/sync-state";
import { cn } from "@/lib/utils";
import { readKeys, saveReadKeys } from "./read-state";
import { notificationKey, notificationTarget, notificationWords } from "./words";

const LIST_KEY = ["notifications_list"] as const;

/** Newest first; one entry per notification however often the stream replays it. */
function merged(list: Notification[], n: Notification): Notification[] {
  const key = notificationKey(n);
  if (list.some((m) => notificationKey(m) === key)) return list;
  return [n, ...list].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
}

/**
 * The notification stream while signed in: the list as it stands, then each new one from
 * the Rust watch (which also shows it as an OS notification and reconnects on its own).
 */
function useNotifications() {
  const { account } = useAccount();
  const accountKey = account ? `${account.issuer} ${account.subject}` : null;
  const queryClient = useQueryClient();
  const list = useQuery({
    queryKey: LIST_KEY,
    queryFn: notificationsList,
    enabled: !!accountKey,
    // The stream keeps it current; a refetch is only for a retry after an error.
    staleTime: Infinity,
  });
  useEffect(() => {
    if (!accountKey) return;
    let live = true;
    notificationsWatch((n) => {
      if (live) queryClient.setQueryData<Notification[]>(LIST_KEY, (old) => merged(old ?? [], n));
    }).catch(() => {
      // Ended by the server's refusal (a non-staff account): the list says what it can.
    });
    return () => {
      live = false;
    };
  }, [accountKey, queryClient]);

  const [read, setRead] = useState<Set<string>>(() => (accountKey ? readKeys(accountKey) : new Set()));
  useEffect(() => {
    setRead(accountKey ? readKeys(accountKey) : new Set());
  }, [accountKey]);
  const markRead = useCallback(
    (keys: string[]) => {
      if (!accountKey) return;
      setRead((old) => {
        const next = new Set(old);
        for (const k of keys) next.add(k);
        saveReadKeys(accountKey, next);
        return next;
      });
    },
    [accountKey],
  );
  const items = useMemo(() => list.data ?? [], [list.data]);
  const unread = items.filter((n) => !read.has(notificationKey(n)));
  return { list, items, read, unread, markRead };
}

/** The top bar's bell: the unread count, and the centre in a popover. */
export function NotificationCentre() {
  const [open, setOpen] = useState(false);
  const { list, items, read, unread, markRead } = useNotifications();
  const { offline } = useSyncState();
  const count = unread.length;

  return (
    <Popover open={open} onOpenChange={setOpen}>
      <PopoverTrigger asChild>
        <Button
          variant="ghost"
          size="icon-sm"
          className="relative"
          aria-label={`Notifications, ${count} unread`}
          data-testid="notifications-bell"
        >
          <BellIcon aria-hidden="true" />
          {count > 0 && (
            <span
              aria-hidden="true"
              data-testid="notifications-badge"
              className="bg-destructive absolute -top-0.5 -right-0.5 flex h-4 min-w-4 items-center justify-center rounded-full px-1 text-[10px] leading-none font-semibold text-white"
            >
              {count > 99 ? "99+" : count}
            </span>
          )}
        </Button>
      </PopoverTrigger>
      <PopoverContent
        align="end"
        className="w-96 p-0"
        aria-label="Notification centre"
        data-testid="notification-centre"
        role="dialog"
      >
        <div className="flex items-center justify-between gap-2 border-b px-3 py-2">
          <h2 className="text-sm font-semibold">Notifications</h2>
          <Button
            variant="ghost"
            size="xs"
            disabled={count === 0}
            onClick={() => markRead(unread.map(notificationKey))}
            data-testid="notifications-mark-all-read"
          >
            <CheckCheckIcon aria-hidden="true" />
            Mark all read
          </Button>
        </div>
        {offline && (
          <p className="text-muted-foreground flex items-center gap-1.5 border-b px-3 py-2 text-xs" role="status">
            <CloudOffIcon className="size-3.5" aria-hidden="true" />
            You're offline. New notifications arrive when the server can be reached.
          </p>
        )}
        <div className="max-h-[28rem] overflow-auto">
          {list.isPending && list.fetchStatus !== "idle" ? (
            <p className="text-muted-foreground flex items-center gap-2 px-3 py-6 text-sm">
              <Spinner aria-label="Loading notifications" />
              Loading notifications…
            </p>
          ) : list.isError && items.length === 0 ? (
            errorCode(list.error) === "offline" ? (
              <EmptyState icon={CloudOffIcon} title="Notifications need the server" className="py-6">
                They come back when a sync succeeds.
              </EmptyState>
            ) : (
              <ErrorState
                error={list.error}
                title="Notifications could not be loaded"
                onRetry={() => void list.refetch()}
                className="py-6"
              />
            )
          ) : items.length === 0 ? (
            <EmptyState title="Nothing new" className="py-6" testId="notifications-empty">
              You'll hear here when a request waits for your decision, yours is decided or expires soon, or a
              support session waits for your approval.
            </EmptyState>
          ) : (
            <ul aria-label="Notifications" className="divide-y">
              {items.map((n) => (
                <NotificationItem
                  key={notificationKey(n)}
                  notification={n}
                  unread={!read.has(notificationKey(n))}
                  onOpen={() => {
                    markRead([notificationKey(n)]);
                    setOpen(false);
                  }}
                />
              ))}
            </ul>
          )}
        </div>
      </PopoverContent>
    </Popover>
  );
}

function NotificationItem({
  notification: n,
  unread,
  onOpen,
}: {
  notification: Notification;
  unread: boolean;
  onOpen: () => void;
}) {
  const target = notificationTarget(n);
  const words = notificationWords(n);
  const body = (
    <>
      <span
        aria-hidden="true"
        className={cn("mt-1.5 size-2 shrink-0 rounded-full", unread ? "bg-primary" : "bg-transparent")}
      />
      <span className="flex min-w-0 flex-1 flex-col gap-0.5">
        <span className={cn("text-sm", unread && "font-medium")}>
          {unread && <span className="sr-only">Unread: </span>}
          {words}
        </span>
        <RelativeTime value={n.at} className="text-muted-foreground text-xs" />
      </span>
    </>
  );
  const rowClass =
    "hover:bg-accent focus-visible:ring-ring/60 flex w-full gap-2 px-3 py-2 text-left outline-none focus-visible:ring-[3px] focus-visible:ring-inset";
  return (
    <li data-testid="notification" data-unread={unread}>
      {target?.to === "/approvals" ? (
        <Link to="/approvals" search={target.search} onClick={onOpen} className={rowClass}>
          {body}
        </Link>
      ) : target?.to === "/sessions" ? (
        <Link to="/sessions" search={target.search} onClick={onOpen} className={rowClass}>
          {body}
        </Link>
      ) : (
        <div className={rowClass}>{body}</div>
      )}
    </li>
  );
}
