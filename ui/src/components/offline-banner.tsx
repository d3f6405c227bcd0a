import { WifiOffIcon } from "lucide-react";
import { RelativeTime } from "@/components/relative-time";
import { formatTime } from "@/lib/format";

/** Full width, under the top bar, while the last sync was refused as offline. */
export function OfflineBanner({ lastSyncedAt }: { lastSyncedAt: string | null }) {
  return (
    <div
      role="status"
      data-testid="offline-banner"
      className="flex items-center gap-2 border-b border-amber-300/60 bg-amber-50 px-4 py-2 text-sm text-amber-900 dark:border-amber-400/20 dark:bg-amber-400/10 dark:text-amber-200"
    >
      <WifiOffIcon className="size-4 shrink-0" aria-hidden="true" />
      <span>
        <span className="font-medium">Offline</span>
        {lastSyncedAt ? (
          <>
            {" "}
            — showing data from {formatTime(lastSyncedAt)} (<RelativeTime value={lastSyncedAt} />).
          </>
        ) : (
          <> — showing the data on this computer.</>
        )}{" "}
        Reveals and syncing resume when the server can be reached.
      </span>
    </div>
  );
}
