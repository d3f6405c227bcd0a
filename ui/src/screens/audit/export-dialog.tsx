import { useEffect, useRef, useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { DownloadIcon } from "lucide-react";
import { toast } from "sonner";
import { auditExport, auditExportCancel } from "@/bindings/commands";
import type { ExportFormat, ExportProgress } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Label } from "@/components/ui/label";
import { Progress } from "@/components/ui/progress";
import { RadioGroup, RadioGroupItem } from "@/components/ui/radio-group";
import { Spinner } from "@/components/ui/spinner";
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip";
import { errorCode, refusalWords } from "@/lib/errors";
import { formatBytes, formatCount } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { auditFilter } from "./queries";
import type { AuditFilters } from "./search";

const FORMATS: { value: ExportFormat; label: string; hint: string }[] = [
  { value: "csv", label: "CSV", hint: "One row per event, for a spreadsheet" },
  { value: "ndjson", label: "NDJSON", hint: "One JSON event per line, for scripts and SIEM tools" },
];

const NO_EXPORT = "Exporting needs the audit:export permission (auditors).";

/** "Export…": the current filters to a file the user picks in the system's save dialog. */
export function ExportButton({ filters }: { filters: AuditFilters }) {
  const { can } = useAccount();
  const [open, setOpen] = useState(false);
  if (!can("audit:export")) {
    return (
      <Tooltip>
        <TooltipTrigger asChild>
          <Button
            variant="outline"
            aria-disabled="true"
            className="cursor-not-allowed opacity-50"
            aria-label={`Export (unavailable: ${NO_EXPORT})`}
            data-testid="audit-export"
          >
            <DownloadIcon aria-hidden="true" />
            Export…
          </Button>
        </TooltipTrigger>
        <TooltipContent>{NO_EXPORT}</TooltipContent>
      </Tooltip>
    );
  }
  return (
    <>
      <Button variant="outline" onClick={() => setOpen(true)} data-testid="audit-export">
        <DownloadIcon aria-hidden="true" />
        Export…
      </Button>
      <ExportDialog open={open} onOpenChange={setOpen} filters={filters} />
    </>
  );
}

type Phase =
  | { kind: "choose" }
  | { kind: "running"; progress: ExportProgress | null; cancelling: boolean }
  | { kind: "failed"; error: unknown };

function ExportDialog({
  open,
  onOpenChange,
  filters,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  filters: AuditFilters;
}) {
  const [format, setFormat] = useState<ExportFormat>("csv");
  const [phase, setPhase] = useState<Phase>({ kind: "choose" });
  const running = phase.kind === "running";
  // Leaving the screen mid-export cancels it: nothing would show its progress or its end.
  const runningRef = useRef(false);
  runningRef.current = running;
  useEffect(() => () => void (runningRef.current && auditExportCancel().catch(() => {})), []);

  const close = () => {
    setPhase({ kind: "choose" });
    onOpenChange(false);
  };

  // A mutation, so a session-ending answer reaches the app's handler like any other action's.
  const exporting = useMutation({
    mutationFn: (format: ExportFormat) =>
      auditExport({ ...auditFilter(filters), limit: null, cursor: null }, format, (progress) =>
        setPhase((p) => (p.kind === "running" ? { ...p, progress } : p)),
      ),
  });

  const start = async () => {
    setPhase({ kind: "running", progress: null, cancelling: false });
    try {
      const report = await exporting.mutateAsync(format);
      // The save dialog was closed: nothing was asked of the server.
      if (report === null) return setPhase({ kind: "choose" });
      toast.success(`Exported ${formatCount(report.events)} event${report.events === 1 ? "" : "s"} to ${report.file_name}`, {
        description: report.path,
      });
      close();
    } catch (error) {
      if (errorCode(error) === "export_cancelled") {
        toast.info("Export cancelled", { description: "No file was written." });
        close();
      } else {
        setPhase({ kind: "failed", error });
      }
    }
  };

  const cancel = () => {
    setPhase((p) => (p.kind === "running" ? { ...p, cancelling: true } : p));
    void auditExportCancel();
  };

  const narrowedBy = FILTER_NAMES.filter(([k]) => filters[k] !== undefined).map(([, name]) => name);

  return (
    <Dialog open={open} onOpenChange={(o) => (o ? onOpenChange(o) : !running && close())}>
      <DialogContent
        className="sm:max-w-md"
        showCloseButton={!running}
        onEscapeKeyDown={(e) => running && e.preventDefault()}
        onInteractOutside={(e) => running && e.preventDefault()}
        data-testid="audit-export-dialog"
      >
        <DialogHeader>
          <DialogTitle>Export the audit log</DialogTitle>
          <DialogDescription>
            {narrowedBy.length
              ? `Every event that matches the current filters (${narrowedBy.join(", ")}), oldest first.`
              : "The whole log, oldest first. It can be large: narrow it with the filters first if you need less."}{" "}
            You choose where to save it; the export is itself recorded in the log.
          </DialogDescription>
        </DialogHeader>
        {phase.kind === "running" ? (
          <Running phase={phase} />
        ) : (
          <fieldset className="grid gap-2">
            <legend className="mb-2 text-sm font-medium">Format</legend>
            <RadioGroup value={format} onValueChange={(v) => setFormat(v as ExportFormat)} aria-label="Format">
              {FORMATS.map((f) => (
                <Label
                  key={f.value}
                  htmlFor={`export-${f.value}`}
                  className="has-[[data-state=checked]]:border-primary/60 has-[[data-state=checked]]:bg-accent/40 flex cursor-pointer items-start gap-3 rounded-md border p-3 font-normal"
                >
                  <RadioGroupItem id={`export-${f.value}`} value={f.value} className="mt-0.5" data-testid={`export-${f.value}`} />
                  <span className="grid gap-0.5">
                    <span className="font-medium">{f.label}</span>
                    <span className="text-muted-foreground text-xs">{f.hint}</span>
                  </span>
                </Label>
              ))}
            </RadioGroup>
          </fieldset>
        )}
        {phase.kind === "failed" && (
          <p role="alert" className="text-destructive text-sm" data-testid="audit-export-error">
            The export did not finish and no file was written. {refusalWords(phase.error)}
          </p>
        )}
        <DialogFooter>
          {running ? (
            <Button variant="outline" onClick={cancel} disabled={phase.cancelling} data-testid="audit-export-cancel">
              {phase.cancelling && <Spinner />}
              {phase.cancelling ? "Cancelling…" : "Cancel export"}
            </Button>
          ) : (
            <>
              <Button variant="outline" onClick={close}>
                Close
              </Button>
              <Button onClick={() => void start()} data-testid="audit-export-start">
                <DownloadIcon aria-hidden="true" />
                {phase.kind === "failed" ? "Try again" : `Export ${format === "csv" ? "CSV" : "NDJSON"}…`}
              </Button>
            </>
          )}
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}

const FILTER_NAMES: [keyof AuditFilters, string][] = [
  ["org", "customer"],
  ["actor", "actor"],
  ["action", "action"],
  ["target_type", "target type"],
  ["target_id", "target id"],
  ["outcome", "outcome"],
  ["request_id", "request id"],
  ["session", "support session"],
  ["from", "from"],
  ["to", "to"],
];

function Running({ phase }: { phase: Extract<Phase, { kind: "running" }> }) {
  const p = phase.progress;
  const total = p?.total_events ?? null;
  const percent = p && total !== null ? (total === 0 ? 100 : Math.min(100, (p.events / total) * 100)) : undefined;
  const words = !p
    ? "Waiting for the file to be chosen and the server to start…"
    : total !== null
      ? `${formatCount(p.events)} of ${formatCount(total)} events · ${formatBytes(p.bytes)}`
      : `${formatCount(p.events)} events · ${formatBytes(p.bytes)}`;
  return (
    <div className="grid gap-2 py-1" data-testid="audit-export-progress">
      <Progress
        value={percent ?? null}
        aria-label="Export progress"
        getValueLabel={(v) => `${Math.round(v)}%`}
        className={percent === undefined ? "animate-pulse" : undefined}
      />
      <p className="text-muted-foreground flex items-center gap-2 text-sm tabular" aria-live="polite">
        {!p && <Spinner />}
        {words}
      </p>
    </div>
  );
}
