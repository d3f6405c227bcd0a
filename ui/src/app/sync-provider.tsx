import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { toast } from "sonner";
import { syncRun } from "@/bindings/commands";
import type { ErrorPayload } from "@/bindings/types";
import { errorCode, errorWords, isErrorPayload } from "@/lib/errors";
import { appStateQuery, invalidateData, syncStatusQuery } from "@/lib/queries";
import { forgetAccount, reloadForUpdate, SESSION_ENDED, UPDATE_REQUIRED } from "@/lib/session";
import { SyncStateContext, type SyncState } from "@/lib/sync-state";

const OFFLINE_RETRY_MS = 5_000;

/**
 * Delta sync for the signed-in shell: on a timer (AppState.sync_interval_secs; every 5 s while
 * offline) and on demand. Tells the rest of the app whether it is offline.
 */
export function SyncProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { data: appState } = useQuery(appStateQuery);
  const { data: status } = useQuery(syncStatusQuery);
  const [syncing, setSyncing] = useState(false);
  const [offlineSeen, setOfflineSeen] = useState<boolean | null>(null);
  const [lastError, setLastError] = useState<ErrorPayload | null>(null);
  const running = useRef(false);
  const timer = useRef<number | undefined>(undefined);
  const mounted = useRef(true);
  const intervalMs = Math.max(5, appState?.sync_interval_secs ?? 60) * 1000;

  const runRef = useRef<(manual: boolean) => Promise<void>>(async () => {});

  const schedule = useCallback((ms: number) => {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void runRef.current(false), ms);
  }, []);

  runRef.current = async (manual: boolean) => {
    if (running.current) return;
    running.current = true;
    window.clearTimeout(timer.current);
    setSyncing(true);
    let next = intervalMs;
    try {
      const report = await syncRun(() => {});
      if (!mounted.current) return;
      setOfflineSeen(false);
      setLastError(null);
      if (report.purged) {
        toast.info("Your access changed — refreshed", {
          description: "Your roles or scope changed, so the local data was downloaded again.",
        });
        // Everything, the account's permissions included, may have changed.
        await queryClient.invalidateQueries();
      } else if (report.applied > 0) {
        await invalidateData(queryClient);
      } else {
        // Nothing changed: only the sync state moves (large tables are not reloaded).
        await queryClient.invalidateQueries({ queryKey: syncStatusQuery.queryKey });
      }
      // After a purge the access-changed notice says it all: no second toast on top of it.
      if (manual && !report.purged) toast.success("Synced", { description: `${report.applied.toLocaleString("en-US")} changes applied.` });
    } catch (e) {
      if (!mounted.current) return;
      const code = errorCode(e);
      if (code === "offline") {
        setOfflineSeen(true);
        next = OFFLINE_RETRY_MS;
      } else if (code && SESSION_ENDED.includes(code)) {
        forgetAccount(queryClient);
        void navigate({ to: "/sign-in", search: { reason: code }, replace: true });
        return;
      } else if (code === UPDATE_REQUIRED) {
        await reloadForUpdate(queryClient);
        void navigate({ to: "/update", replace: true });
        return;
      } else {
        setLastError(isErrorPayload(e) ? e : { code: "internal", message: "" });
        if (manual) toast.error("Sync failed", { description: errorWords(e) });
      }
    } finally {
      running.current = false;
      if (mounted.current) {
        setSyncing(false);
        schedule(next);
      }
    }
  };

  // First run: when the last sync is older than the interval (or unknown), at once.
  const lastSyncedAt = status?.last_synced_at ?? null;
  const started = useRef(false);
  useEffect(() => {
    if (started.current || status === undefined) return;
    started.current = true;
    const age = lastSyncedAt ? Date.now() - Date.parse(lastSyncedAt) : Infinity;
    const firstDelay = status.online ? Math.max(0, intervalMs - age) : OFFLINE_RETRY_MS;
    schedule(Number.isFinite(firstDelay) ? firstDelay : 0);
  }, [status, lastSyncedAt, intervalMs, schedule]);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      started.current = false;
      window.clearTimeout(timer.current);
    };
  }, []);

  const offline = offlineSeen ?? (status ? !status.online : false);
  const syncNow = useCallback(() => void runRef.current(true), []);
  const value = useMemo<SyncState>(
    () => ({ available: true, syncing, offline, lastSyncedAt, lastError, syncNow }),
    [syncing, offline, lastSyncedAt, lastError, syncNow],
  );

  return <SyncStateContext.Provider value={value}>{children}</SyncStateContext.Provider>;
}
