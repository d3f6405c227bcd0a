import { CloudOffIcon, RefreshCwIcon, TriangleAlertIcon } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Spinner } from "@/components/ui/spinner";
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip";
import { RelativeTime } from "@/components/relative-time";
import { errorWords } from "@/lib/errors";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";

/** Last sync (relative), a spinner while syncing, the Offline pill, and Sync now. */
export function SyncIndicator() {
  const { syncing, offline, lastSyncedAt, lastError, syncNow } = useSyncState();
  const disabledReason = offline ? OFFLINE_ACTION_REASON : syncing ? "A sync is running." : null;

  return (
    <div className="flex items-center gap-2 text-xs" data-testid="sync-state">
      {offline && (
        <Badge variant="amber" className="rounded-full px-2">
          <CloudOffIcon aria-hidden="true" />
          Offline
        </Badge>
      )}
      {lastError && !offline && (
        <Tooltip>
          <TooltipTrigger asChild>
            <span tabIndex={0} className="text-destructive inline-flex items-center gap-1 outline-none focus-visible:underline">
              <TriangleAlertIcon className="size-3.5" aria-hidden="true" />
              Sync failed
            </span>
          </TooltipTrigger>
          <TooltipContent>{errorWords(lastError)}</TooltipContent>
        </Tooltip>
      )}
      <span className="text-muted-foreground inline-flex items-center gap-1.5" aria-live="polite">
        {syncing ? (
          <>
            <Spinner className="size-3.5" aria-label="Syncing" />
            Syncing…
          </>
        ) : lastSyncedAt ? (
          <>
            Synced <RelativeTime value={lastSyncedAt} />
          </>
        ) : (
          "Not synced yet"
        )}
      </span>
      <Tooltip>
        <TooltipTrigger asChild>
          <Button
            variant="ghost"
            size="icon-sm"
            data-testid="sync-now"
            aria-label={disabledReason ? `Sync now (unavailable: ${disabledReason})` : "Sync now"}
            aria-disabled={disabledReason ? "true" : undefined}
            className={disabledReason ? "cursor-not-allowed opacity-50" : undefined}
            onClick={() => {
              if (!disabledReason) syncNow();
            }}
          >
            <RefreshCwIcon aria-hidden="true" className={syncing ? "animate-spin" : undefined} />
          </Button>
        </TooltipTrigger>
        <TooltipContent>{disabledReason ?? "Sync now"}</TooltipContent>
      </Tooltip>
    </div>
  );
}
