import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { CheckCircle2Icon, CircleSlashIcon, LoaderIcon } from "lucide-react";
import { approvalDecide } from "@/bindings/commands";
import type { Approval, Decision } from "@/bindings/types";
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
import { Textarea } from "@/components/ui/textarea";
import { refusalWords } from "@/lib/errors";
import { formatCount } from "@/lib/format";
import { approvalTitle } from "./approval-detail";
import { approvalQuery } from "./queries";

type Outcome = { state: "waiting" } | { state: "done"; approval: Approval } | { state: "refused"; error: unknown };

/**
 * Approve or reject several requests at once. Each is sent on its own, in order, with the
 * version the user saw: the server checks every one as if decided alone (limit, own request,
 * stale version…), and the dialog lists each result — a refusal in words — rather than one
 * verdict for all.
 */
export function BulkDecideDialog({
  decision,
  requests,
  onClose,
}: {
  decision: Decision | null;
  requests: Approval[];
  /** `decided`: at least one request was sent. */
  onClose: (decided: boolean) => void;
}) {
  return (
    <Dialog open={decision !== null} onOpenChange={(open) => !open && onClose(false)}>
      {decision && <Body decision={decision} requests={requests} onClose={onClose} />}
    </Dialog>
  );
}

function Body({
  decision,
  requests,
  onClose,
}: {
  decision: Decision;
  requests: Approval[];
  onClose: (decided: boolean) => void;
}) {
  const queryClient = useQueryClient();
  // The requests as they were when the dialog opened: the list behind may reload meanwhile.
  const [batch] = useState(requests);
  const [comment, setComment] = useState("");
  const [outcomes, setOutcomes] = useState<Record<string, Outcome> | null>(null);
  const running = outcomes !== null && Object.values(outcomes).some((o) => o.state === "waiting");
  const finished = outcomes !== null && !running;
  const verb = decision === "approve" ? "Approve" : "Reject";

  const run = async () => {
    setOutcomes(Object.fromEntries(batch.map((a) => [a.id, { state: "waiting" } as Outcome])));
    for (const a of batch) {
      let outcome: Outcome;
      try {
        const next = await approvalDecide(a.id, {
          decision,
          comment: comment.trim(),
          version: a.version,
          on_behalf_of: null,
        });
        queryClient.setQueryData(approvalQuery(a.id).queryKey, next);
        outcome = { state: "done", approval: next };
      } catch (error) {
        outcome = { state: "refused", error };
      }
      setOutcomes((prev) => ({ ...prev, [a.id]: outcome }));
    }
    void queryClient.invalidateQueries({ queryKey: ["approvals_list"] });
  };

  const done = outcomes ? Object.values(outcomes).filter((o) => o.state !== "waiting").length : 0;
  const refused = outcomes ? Object.values(outcomes).filter((o) => o.state === "refused").length : 0;

  return (
    <DialogContent
      className="sm:max-w-lg"
      data-testid="bulk-decide"
      onInteractOutside={(e) => e.preventDefault()}
      onEscapeKeyDown={(e) => running && e.preventDefault()}
      showCloseButton={!running}
    >
      <DialogHeader>
        <DialogTitle>
          {verb} {formatCount(batch.length)} request{batch.length === 1 ? "" : "s"}
        </DialogTitle>
        <DialogDescription>
          {finished
            ? refused
              ? `${formatCount(batch.length - refused)} ${decision === "approve" ? "approved" : "rejected"}, ${formatCount(refused)} refused by the server.`
              : `All ${decision === "approve" ? "approved" : "rejected"}.`
            : "Each request is checked by the server on its own; any it refuses are listed with the reason."}
        </DialogDescription>
      </DialogHeader>
      {outcomes === null && (
        <div className="grid gap-2">
          <Label htmlFor="bulk-comment">Comment for every decision (optional)</Label>
          <Textarea
            id="bulk-comment"
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            rows={2}
            maxLength={2000}
            placeholder={decision === "approve" ? "What you checked" : "Why you reject them"}
          />
        </div>
      )}
      {running && <Progress value={(done / batch.length) * 100} aria-label="Decisions sent" />}
      <ul className="max-h-72 divide-y overflow-auto rounded-md border text-sm" data-testid="bulk-results">
        {batch.map((a) => {
          const o = outcomes?.[a.id];
          return (
            <li key={a.id} className="flex items-start gap-2 px-3 py-2" data-testid="bulk-result" data-state={o?.state ?? "ready"}>
              {o?.state === "waiting" ? (
                <LoaderIcon className="text-muted-foreground mt-0.5 size-4 shrink-0 animate-spin" aria-hidden="true" />
              ) : o?.state === "done" ? (
                <CheckCircle2Icon className="mt-0.5 size-4 shrink-0 text-emerald-600 dark:text-emerald-400" aria-hidden="true" />
              ) : o?.state === "refused" ? (
                <CircleSlashIcon className="text-destructive mt-0.5 size-4 shrink-0" aria-hidden="true" />
              ) : (
                <span className="size-4 shrink-0" />
              )}
              <div className="min-w-0">
                <p className="truncate font-medium">{approvalTitle(a)}</p>
                <p className="text-muted-foreground truncate">{a.reason}</p>
                {o?.state === "done" && (
                  <p className="text-emerald-700 dark:text-emerald-400">
                    {decision === "approve"
                      ? o.approval.status === "executed"
                        ? "Approved — fully approved and executed"
                        : "Approved — waits for the other approvers"
                      : "Rejected"}
                  </p>
                )}
                {o?.state === "refused" && <p className="text-destructive">{refusalWords(o.error)}</p>}
              </div>
            </li>
          );
        })}
      </ul>
      <DialogFooter>
        {outcomes === null ? (
          <>
            <Button variant="outline" onClick={() => onClose(false)}>
              Cancel
            </Button>
            <Button
              variant={decision === "reject" ? "destructive" : "default"}
              onClick={() => void run()}
              data-testid="bulk-confirm"
            >
              {verb} {formatCount(batch.length)}
            </Button>
          </>
        ) : (
          <Button onClick={() => onClose(true)} disabled={running} data-testid="bulk-done">
            Done
          </Button>
        )}
      </DialogFooter>
    </DialogContent>
  );
}
