import { useCallback, useEffect, useRef, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { DatabaseIcon, RotateCwIcon, WifiOffIcon } from "lucide-react";
import { syncRun } from "@/bindings/commands";
import type { SyncProgress } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import { Progress } from "@/components/ui/progress";
import { CenteredPane } from "@/components/centered-pane";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { errorCode, errorWords } from "@/lib/errors";
import { formatCount } from "@/lib/format";
import { appStateQuery, syncStatusQuery } from "@/lib/queries";
import { forgetAccount, reloadForUpdate, SESSION_ENDED, UPDATE_REQUIRED } from "@/lib/session";
import { useDocumentTitle } from "@/lib/title";

/** "12,340 of ~100,000 records" (the total is an estimate until the end). */
export function progressWords(p: SyncProgress | null): string {
  if (!p) return "Contacting the server…";
  if (p.estimated_total === null) return `${formatCount(p.done)} records`;
  return `${formatCount(p.done)} of ~${formatCount(Math.max(p.estimated_total, p.done))} records`;
}

function percent(p: SyncProgress | null): number | null {
  if (!p || p.estimated_total === null || p.estimated_total <= 0) return null;
  return Math.min(100, Math.round((p.done / p.estimated_total) * 100));
}

/** The first, full sync after sign-in (or after wiping local data). */
export function FirstSyncScreen() {
  useDocumentTitle("Preparing your workspace");
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { data: state } = useQuery(appStateQuery);
  const [progress, setProgress] = useState<SyncProgress | null>(null);
  const [error, setError] = useState<unknown>(null);
  const running = useRef(false);
  const mounted = useRef(true);

  const start = useCallback(async () => {
    if (running.current) return;
    running.current = true;
    setError(null);
    setProgress(null);
    try {
      await syncRun((p) => mounted.current && setProgress(p));
      await queryClient.invalidateQueries({ queryKey: syncStatusQuery.queryKey });
      await queryClient.fetchQuery(syncStatusQuery);
      if (mounted.current) void navigate({ to: "/", replace: true });
    } catch (e) {
      const code = errorCode(e);
      if (code && SESSION_ENDED.includes(code)) {
        forgetAccount(queryClient);
        void navigate({ to: "/sign-in", search: { reason: code }, replace: true });
        return;
      }
      if (code === UPDATE_REQUIRED) {
        await reloadForUpdate(queryClient);
        void navigate({ to: "/update", replace: true });
        return;
      }
      if (mounted.current) setError(e);
    } finally {
      running.current = false;
    }
  }, [navigate, queryClient]);

  useEffect(() => {
    mounted.current = true;
    void start();
    return () => {
      mounted.current = false;
    };
  }, [start]);

  const memoryOnly = state?.account?.persistence === "memory_only";
  const pct = percent(progress);

  if (error) {
    const offline = errorCode(error) === "offline";
    return (
      <CenteredPane>
        {offline ? (
          <EmptyState
            icon={WifiOffIcon}
            title="You're offline"
            action={
              <Button variant="outline" size="sm" onClick={() => void start()}>
                <RotateCwIcon aria-hidden="true" />
                Retry
              </Button>
            }
          >
            <span role="alert">
              {errorWords(error)} The first sync needs the server: there is no local data yet.
            </span>
          </EmptyState>
        ) : (
          <ErrorState error={error} title="The first sync did not finish" onRetry={() => void start()} />
        )}
      </CenteredPane>
    );
  }

  return (
    <CenteredPane>
      <div className="flex items-start gap-3">
        <DatabaseIcon className="text-muted-foreground mt-0.5 size-5 shrink-0" aria-hidden="true" />
        <div className="min-w-0 flex-1">
          <h1 className="text-lg font-semibold">Preparing your workspace</h1>
          <p className="text-muted-foreground mt-1 text-sm">
            Countersign is downloading the records you may see
            {memoryOnly ? " into memory (nothing is stored on this computer)" : " into an encrypted store on this computer"}
            . This happens once; afterwards only changes are fetched.
          </p>
        </div>
      </div>
      <div className="mt-6 grid gap-2">
        <Progress
          value={pct}
          aria-label="Sync progress"
          aria-valuetext={progressWords(progress)}
          data-testid="sync-progress"
          className={pct === null ? "animate-pulse" : undefined}
        />
        <div className="text-muted-foreground flex justify-between text-xs" aria-live="polite">
          <span className="tabular">{progressWords(progress)}</span>
          {pct !== null && <span className="tabular">{pct}%</span>}
        </div>
      </div>
    </CenteredPane>
  );
}
