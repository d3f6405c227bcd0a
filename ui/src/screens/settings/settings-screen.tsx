import { useState, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { HardDriveIcon, MemoryStickIcon, Trash2Icon } from "lucide-react";
import { toast } from "sonner";
import { wipeLocalData } from "@/bindings/commands";
import type { ServerSource, Theme } from "@/bindings/types";
import { ConfirmDestructive } from "@/components/confirm-destructive";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { RadioGroup, RadioGroupItem } from "@/components/ui/radio-group";
import { Skeleton } from "@/components/ui/skeleton";
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip";
import { ErrorState } from "@/components/error-state";
import { UpdateCheck } from "@/components/update-check";
import { RelativeTime } from "@/components/relative-time";
import { errorWords } from "@/lib/errors";
import { formatBytes, formatCount, humanize } from "@/lib/format";
import { appStateQuery, settingsQuery } from "@/lib/queries";
import { dropData } from "@/lib/session";
import { useSyncState } from "@/lib/sync-state";
import { THEMES, useTheme } from "@/lib/theme";
import { useDocumentTitle } from "@/lib/title";
import { OutOfOfficeCard } from "./out-of-office";

const SOURCE: Record<ServerSource, string> = {
  env: "The COUNTERSIGN_API_URL environment variable",
  user_config: "Your settings file",
  system_config: "This computer's configuration",
  entered: "Entered on the first screen",
};

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[10rem_minmax(0,1fr)] gap-4 py-2.5 text-sm">
      <dt className="text-muted-foreground">{label}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </div>
  );
}

export function SettingsScreen() {
  useDocumentTitle("Settings");
  const settings = useQuery(settingsQuery);
  const { data: appState } = useQuery(appStateQuery);

  return (
    <div className="mx-auto grid w-full max-w-[720px] gap-6 p-6" data-testid="settings">
      <h1 className="text-xl font-semibold tracking-tight">Settings</h1>
      {settings.isPending ? (
        <div className="grid gap-6" aria-busy="true" aria-label="Loading settings">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-36 w-full" />
          ))}
        </div>
      ) : settings.isError ? (
        <ErrorState error={settings.error} onRetry={() => void settings.refetch()} />
      ) : (
        <>
          {settings.data.account && (
            <Card>
              <CardHeader>
                <CardTitle>Account</CardTitle>
              </CardHeader>
              <CardContent>
                <dl className="divide-y">
                  <Row label="Name">{settings.data.account.display_name}</Row>
                  <Row label="E-mail">{settings.data.account.email}</Row>
                  <Row label="Roles">
                    <span className="flex flex-wrap gap-1">
                      {settings.data.account.roles.length === 0
                        ? "None yet"
                        : settings.data.account.roles.map((r) => (
                            <Badge key={r} variant="secondary">
                              {humanize(r)}
                            </Badge>
                          ))}
                    </span>
                  </Row>
                  <Row label="Signed in through">
                    <span className="font-mono text-xs">{settings.data.account.issuer}</span>
                  </Row>
                  <Row label="Session kept in">
                    {settings.data.account.persistence === "keyring"
                      ? "The system keyring"
                      : `Memory only: you sign in again after a restart. ${settings.data.account.persistence_reason ?? ""}`}
                  </Row>
                </dl>
              </CardContent>
            </Card>
          )}

          <Card>
            <CardHeader>
              <CardTitle>Server</CardTitle>
            </CardHeader>
            <CardContent>
              <dl className="divide-y">
                <Row label="Address">
                  <span className="font-mono text-xs">{settings.data.server_url ?? "Not set"}</span>
                </Row>
                <Row label="Where it came from">
                  {settings.data.server_source ? SOURCE[settings.data.server_source] : "—"}
                </Row>
                {appState?.server && <Row label="Server version">{appState.server.server_version}</Row>}
              </dl>
            </CardContent>
          </Card>

          {settings.data.cache && <LocalDataCard cache={settings.data.cache} />}

          <OutOfOfficeCard />

          <Card>
            <CardHeader>
              <CardTitle>Appearance</CardTitle>
              <CardDescription>System follows your computer's light or dark setting.</CardDescription>
            </CardHeader>
            <CardContent>
              <ThemeChoice />
            </CardContent>
          </Card>

          <Card>
            <CardHeader>
              <CardTitle>About</CardTitle>
            </CardHeader>
            <CardContent>
              <dl className="divide-y">
                <Row label="Version">
                  <span className="tabular font-mono">{settings.data.client_version}</span>
                </Row>
              </dl>
              <div className="mt-2 border-t pt-4">
                <UpdateCheck currentVersion={settings.data.client_version} />
              </div>
            </CardContent>
          </Card>
        </>
      )}
    </div>
  );
}

function ThemeChoice() {
  const { theme, setTheme } = useTheme();
  return (
    <RadioGroup
      value={theme}
      onValueChange={(v) => setTheme(v as Theme)}
      aria-label="Theme"
      className="flex gap-6"
    >
      {THEMES.map((t) => (
        <div key={t.value} className="flex items-center gap-2">
          <RadioGroupItem value={t.value} id={`theme-${t.value}`} data-testid={`theme-${t.value}`} />
          <Label htmlFor={`theme-${t.value}`} className="font-normal">
            {t.label}
          </Label>
        </div>
      ))}
    </RadioGroup>
  );
}

function LocalDataCard({
  cache,
}: {
  cache: NonNullable<import("@/bindings/types").SettingsView["cache"]>;
}) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { offline } = useSyncState();
  const [confirming, setConfirming] = useState(false);
  const wipe = useMutation({
    mutationFn: wipeLocalData,
    onSuccess: () => {
      setConfirming(false);
      dropData(queryClient);
      void navigate({ to: "/sync", replace: true });
    },
    onError: (error) => toast.error("Local data was not wiped", { description: errorWords(error) }),
  });
  const what = `${formatCount(cache.records)} records, ${formatBytes(cache.size_bytes)}`;
  const offlineReason = "You're offline: after a wipe the records could not be downloaded again.";

  return (
    <Card>
      <CardHeader>
        <CardTitle>Local data</CardTitle>
        <CardDescription>The copy of your records that Countersign reads from, offline too.</CardDescription>
      </CardHeader>
      <CardContent>
        <dl className="divide-y">
          <Row label="Stored">
            {cache.mode === "encrypted" ? (
              <span className="inline-flex items-center gap-1.5">
                <HardDriveIcon className="size-4 text-emerald-600 dark:text-emerald-400" aria-hidden="true" />
                Encrypted on this computer (AES-256, key in the system keyring)
              </span>
            ) : (
              <span className="inline-flex items-start gap-1.5">
                <MemoryStickIcon className="mt-0.5 size-4 shrink-0 text-amber-600 dark:text-amber-400" aria-hidden="true" />
                <span>
                  Memory only: nothing is written to disk, and the data is downloaded again at
                  every start.{cache.reason ? ` ${cache.reason}` : ""}
                </span>
              </span>
            )}
          </Row>
          <Row label="Records">
            <span className="tabular">{formatCount(cache.records)}</span>
          </Row>
          <Row label="Last sync">
            {cache.last_synced_at ? <RelativeTime value={cache.last_synced_at} /> : "Never"}
          </Row>
          <Row label="Size on disk">
            <span className="tabular">{cache.mode === "encrypted" ? formatBytes(cache.size_bytes) : "None (in memory)"}</span>
          </Row>
        </dl>
        <div className="mt-4 flex items-center justify-between gap-4 rounded-md border border-dashed px-4 py-3">
          <p className="text-muted-foreground text-sm">
            Wiping deletes the local copy and downloads it again. You stay signed in.
          </p>
          {offline ? (
            <Tooltip>
              <TooltipTrigger asChild>
                <Button
                  variant="outline"
                  aria-disabled="true"
                  className="cursor-not-allowed opacity-50"
                  data-testid="wipe-local-data"
                  aria-label={`Wipe local data (unavailable: ${offlineReason})`}
                >
                  <Trash2Icon aria-hidden="true" />
                  Wipe local data
                </Button>
              </TooltipTrigger>
              <TooltipContent>{offlineReason}</TooltipContent>
            </Tooltip>
          ) : (
            <Button variant="outline" onClick={() => setConfirming(true)} data-testid="wipe-local-data">
              <Trash2Icon aria-hidden="true" />
              Wipe local data
            </Button>
          )}
        </div>
      </CardContent>
      <ConfirmDestructive
        open={confirming}
        onOpenChange={setConfirming}
        title="Wipe local data?"
        description={
          <>
            This deletes the {cache.mode === "encrypted" ? "encrypted " : ""}copy of your records on this
            computer ({what}) and its key. You stay signed in, and Countersign downloads your records
            again right away.
          </>
        }
        cancel="Keep local data"
        action={`Wipe ${formatCount(cache.records)} records`}
        pending={wipe.isPending}
        onConfirm={() => wipe.mutate()}
        testId="wipe-local-data-confirm"
      />
    </Card>
  );
}
