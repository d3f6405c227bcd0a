import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { ArrowUpCircleIcon, CircleCheckIcon, ShieldAlertIcon } from "lucide-react";
import { updateCheck, updateInstall } from "@/bindings/commands";
import type { UpdateProgress, UpdateView } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import { Progress } from "@/components/ui/progress";
import { Spinner } from "@/components/ui/spinner";
import { RelativeTime } from "@/components/relative-time";
import { errorCode, errorWords, isErrorPayload } from "@/lib/errors";
import { formatBytes } from "@/lib/format";

/**
 * "Check for updates", then the version found with its notes and "Install and restart". The app
 * (Rust) fetches, checks the signature and the version signed inside it, and installs; the
 * window only asks and shows. A refusal says why in words, with the app's own sentence below.
 */
export function UpdateCheck({ currentVersion }: { currentVersion: string }) {
  const [progress, setProgress] = useState<UpdateProgress | null>(null);
  const check = useMutation({ mutationFn: updateCheck });
  const install = useMutation({
    mutationFn: () => {
      setProgress(null);
      return updateInstall(setProgress);
    },
    // Installed, the app restarts; a refusal leaves nothing installed and must be looked for again.
    onError: () => check.reset(),
  });
  const found: UpdateView | null | undefined = check.data;
  const busy = check.isPending || install.isPending;

  return (
    <div className="grid gap-3" data-testid="update-check">
      <div className="flex items-center justify-between gap-4">
        <p className="text-sm" aria-live="polite">
          {check.isPending ? (
            <span className="text-muted-foreground inline-flex items-center gap-2">
              <Spinner /> Looking for a newer version…
            </span>
          ) : found === null ? (
            <span className="inline-flex items-center gap-1.5" data-testid="update-latest">
              <CircleCheckIcon className="size-4 text-emerald-600 dark:text-emerald-400" aria-hidden="true" />
              Countersign {currentVersion} is the latest version.
            </span>
          ) : found ? null : (
            <span className="text-muted-foreground">Updates are signed and checked before they are installed.</span>
          )}
        </p>
        {!found && (
          <Button variant="outline" onClick={() => {
              install.reset();
              check.mutate();
            }}
            disabled={busy} data-testid="update-check-button">
            Check for updates
          </Button>
        )}
      </div>

      {found && (
        <div className="bg-muted/40 grid gap-3 rounded-md border px-4 py-3" data-testid="update-found">
          <div className="flex items-start gap-3">
            <ArrowUpCircleIcon className="text-primary mt-0.5 size-5 shrink-0" aria-hidden="true" />
            <div className="min-w-0">
              <h3 className="text-sm font-semibold">Version {found.version} is available</h3>
              <p className="text-muted-foreground text-xs">
                You have {found.current_version}
                {found.published_at && (
                  <>
                    {" "}
                    · published <RelativeTime value={found.published_at} />
                  </>
                )}
              </p>
            </div>
          </div>
          {found.notes && (
            <div className="max-h-48 overflow-y-auto rounded border bg-background px-3 py-2 text-sm whitespace-pre-wrap" tabIndex={0}
              aria-label="Release notes" data-testid="update-notes">
              {found.notes}
            </div>
          )}
          {install.isPending ? (
            <InstallProgress progress={progress} />
          ) : (
            <div className="flex justify-end gap-2">
              <Button variant="ghost" onClick={() => check.reset()}>
                Not now
              </Button>
              <Button onClick={() => install.mutate()} data-testid="update-install">
                Install and restart
              </Button>
            </div>
          )}
        </div>
      )}

      {(check.isError || install.isError) && <Refusal error={check.error ?? install.error} />}
    </div>
  );
}

function InstallProgress({ progress }: { progress: UpdateProgress | null }) {
  const total = progress?.total ?? null;
  const done = progress && total ? progress.bytes >= total : false;
  const percent = progress && total ? Math.min(100, (progress.bytes / total) * 100) : undefined;
  return (
    <div className="grid gap-2" data-testid="update-progress">
      <Progress value={percent ?? null} aria-label="Update download" getValueLabel={(v) => `${Math.round(v)}%`}
        className={percent === undefined ? "animate-pulse" : undefined} />
      <p className="text-muted-foreground flex items-center gap-2 text-sm tabular" aria-live="polite">
        <Spinner />
        {!progress
          ? "Starting the download…"
          : done
            ? "Checking the signature and installing… Countersign restarts when it is done."
            : `Downloading ${formatBytes(progress.bytes)}${total ? ` of ${formatBytes(total)}` : ""}…`}
      </p>
    </div>
  );
}

function Refusal({ error }: { error: unknown }) {
  const code = errorCode(error);
  const quiet = code === "updates_unavailable";
  return (
    <div
      role="alert"
      data-testid="update-error"
      className={
        quiet
          ? "text-muted-foreground text-sm"
          : "border-destructive/40 bg-destructive/5 flex items-start gap-2 rounded-md border px-3 py-2 text-sm"
      }
    >
      {!quiet && <ShieldAlertIcon className="text-destructive mt-0.5 size-4 shrink-0" aria-hidden="true" />}
      <div>
        <p>{errorWords(error)}</p>
        {!quiet && isErrorPayload(error) && error.message && (
          <p className="text-muted-foreground mt-1 text-xs">{error.message}</p>
        )}
      </div>
    </div>
  );
}
