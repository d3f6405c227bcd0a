import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { BanIcon, CheckIcon, CircleSlashIcon, HistoryIcon, PencilIcon, XIcon } from "lucide-react";
import { toast } from "sonner";
import { approvalCancel, approvalDecide } from "@/bindings/commands";
import type { Approval, Decision } from "@/bindings/types";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { Sheet, SheetContent, SheetDescription, SheetHeader, SheetTitle } from "@/components/ui/sheet";
import { Skeleton } from "@/components/ui/skeleton";
import { Spinner } from "@/components/ui/spinner";
import { Textarea } from "@/components/ui/textarea";
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip";
import { ConfirmDestructive } from "@/components/confirm-destructive";
import { DetailSection } from "@/components/detail-section";
import { ErrorState } from "@/components/error-state";
import { MoneyCell } from "@/components/money";
import { RelativeTime } from "@/components/relative-time";
import { ApprovalStatusBadge, approvalKindLabel } from "@/components/status-badge";
import { errorCode, refusalWords } from "@/lib/errors";
import { formatDateTime, formatMoney, humanize } from "@/lib/format";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";
import { orgInvoicesQuery, orgsListQuery, orgVendorsQuery } from "@/screens/customers/queries";
import { Field, PayoutHold } from "@/screens/customers/record-sheet";
import { MaskedValue } from "@/components/masked-value";
import { describeChanges } from "./changes";
import { approvalQuery } from "./queries";
import { RequestDialog } from "./request-dialog";

/** A request's detail in a side sheet: what, why, the rule and its progress, every decision, and the decision form. */
export function ApprovalSheet({ id, onClose }: { id: string | null; onClose: () => void }) {
  return (
    <Sheet open={!!id} onOpenChange={(open) => !open && onClose()}>
      <SheetContent className="w-full gap-0 sm:max-w-xl" data-testid="approval-detail">
        {id && <Detail id={id} />}
      </SheetContent>
    </Sheet>
  );
}

/** "Refund of 1,200.00 EUR", "Vendor bank change": how buttons and titles name a request. */
export function approvalTitle(a: Approval): string {
  return a.amount ? `${approvalKindLabel(a.kind)} of ${formatMoney(a.amount)}` : approvalKindLabel(a.kind);
}

function Detail({ id }: { id: string }) {
  const approval = useQuery(approvalQuery(id));
  const orgs = useQuery(orgsListQuery);
  // After a stale_version refusal: what the server's version has that the one decided on had not.
  const [changes, setChanges] = useState<string[] | null>(null);
  if (approval.isPending) {
    return (
      <div className="flex flex-col gap-3 p-4" aria-busy="true" aria-label="Loading">
        <Skeleton className="h-5 w-2/3" />
        <Skeleton className="h-4 w-1/2" />
        <Skeleton className="h-32 w-full" />
      </div>
    );
  }
  if (approval.isError) {
    return (
      <>
        <SheetHeader className="border-b pr-12">
          <SheetTitle className="text-base">Request</SheetTitle>
          <SheetDescription className="sr-only">The request could not be loaded</SheetDescription>
        </SheetHeader>
        <ErrorState error={approval.error} onRetry={() => void approval.refetch()} />
      </>
    );
  }
  const a = approval.data;
  const org = orgs.data?.find((o) => o.id === a.org_id);
  const orgName = org?.name;
  const approvals = a.decisions.filter((d) => d.current && d.decision === "approve").length;
  const needed = a.required.reduce((n, r) => n + r.approvals, 0);
  return (
    <>
      <SheetHeader className="border-b pr-12">
        <div className="flex items-center gap-2">
          <SheetTitle className="text-base">{approvalTitle(a)}</SheetTitle>
          <ApprovalStatusBadge status={a.status} />
        </div>
        <SheetDescription>{orgName ? `For ${orgName}` : "For a customer outside your local data"}</SheetDescription>
      </SheetHeader>
      <div className="flex-1 overflow-auto px-4">
        {changes && (
          <div
            role="status"
            data-testid="what-changed"
            className="mt-3 rounded-md border border-amber-300/60 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-400/20 dark:bg-amber-400/10 dark:text-amber-200"
          >
            <p className="flex items-center gap-2 font-medium">
              <HistoryIcon className="size-4" aria-hidden="true" />
              It changed while you had it open — read it again before you decide
            </p>
            <ul className="mt-1 list-disc pl-6">
              {(changes.length ? changes : ["Someone else acted on it"]).map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          </div>
        )}
        {a.kind === "payout_release" && a.status === "pending" && org && <PayoutHold org={org} vendor={a.target_id} />}
        <dl className="py-2">
          {org && <Target approval={a} orgId={org.id} />}
          <Field label="Reason">{a.reason}</Field>
          {a.amount && (
            <Field label="Amount">
              <span className="flex items-baseline gap-2">
                <MoneyCell value={a.amount} className="inline" />
                {a.amount_base && a.amount_base.currency !== a.amount.currency && (
                  <span className="text-muted-foreground text-xs" data-testid="amount-base">
                    = {formatMoney(a.amount_base)} at {a.exchange_rate}
                  </span>
                )}
              </span>
            </Field>
          )}
          {Object.entries(a.payload ?? {}).map(([k, v]) => (
            <Field key={k} label={humanize(k)}>
              <PayloadValue value={v} />
            </Field>
          ))}
          <Field label="Requested">
            <RelativeTime value={a.created_at} />
          </Field>
          <Field label="Expires">
            <RelativeTime value={a.expires_at} />
          </Field>
          <Field label="Version">
            <span className="tabular">{a.version}</span>
          </Field>
        </dl>
        <DetailSection title="Policy">
          <ul className="flex flex-col gap-1 text-sm" data-testid="approval-rules">
            {a.required.map((r, i) => (
              <li key={i}>{r.description}</li>
            ))}
          </ul>
          <p className="text-muted-foreground mt-1 text-xs" data-testid="approval-progress">
            {approvals} of {needed} approval{needed === 1 ? "" : "s"} given · policy {a.policy_version}
          </p>
        </DetailSection>
        <DetailSection title="Decisions">
          {a.decisions.length === 0 ? (
            <p className="text-muted-foreground text-sm">No decision yet.</p>
          ) : (
            <ol className="flex flex-col gap-2" data-testid="approval-decisions">
              {a.decisions.map((d, i) => (
                <li key={i} className="text-sm">
                  <div className="flex items-center gap-2">
                    <Badge variant={d.decision === "approve" ? "green" : "red"}>
                      {d.decision === "approve" ? "Approved" : "Rejected"}
                    </Badge>
                    <span className="font-medium">{d.approver_name}</span>
                    <span className="text-muted-foreground text-xs" title={formatDateTime(d.at)}>
                      <RelativeTime value={d.at} /> · saw version {d.version_seen}
                    </span>
                  </div>
                  {d.comment && <p className="text-muted-foreground mt-0.5 pl-1">“{d.comment}”</p>}
                  {!d.current && (
                    <p className="text-muted-foreground mt-0.5 pl-1 text-xs">
                      No longer counts: the request was amended after it.
                    </p>
                  )}
                </li>
              ))}
            </ol>
          )}
        </DetailSection>
        {a.execution_result && (
          <DetailSection title="Execution">
            <dl>
              {Object.entries(a.execution_result).map(([k, v]) => (
                <Field key={k} label={humanize(k)}>
                  <PayloadValue value={v} />
                </Field>
              ))}
            </dl>
          </DetailSection>
        )}
      </div>
      <DecidePanel approval={a} orgName={orgName} onStale={setChanges} />
    </>
  );
}

/** The record the request acts on, from the local data (masked as the caller sees it). */
function Target({ approval: a, orgId }: { approval: Approval; orgId: string }) {
  const invoice = a.kind === "refund" || a.kind === "credit_note";
  const vendor = a.kind === "vendor_bank_change" || a.kind === "payout_release";
  const invoices = useQuery({ ...orgInvoicesQuery(orgId), enabled: invoice });
  const vendors = useQuery({ ...orgVendorsQuery(orgId), enabled: vendor });
  if (invoice) {
    const i = invoices.data?.find((x) => x.id === a.target_id);
    return (
      <Field label="Invoice">
        {i ? (
          <span data-testid="approval-target">
            <span className="font-mono">{i.number}</span> · {formatMoney(i.amount)} · issued{" "}
            {formatDateTime(i.issued_at).split(",")[0]}
          </span>
        ) : (
          <span className="text-muted-foreground">Not in your local data</span>
        )}
      </Field>
    );
  }
  if (vendor) {
    const v = vendors.data?.find((x) => x.id === a.target_id);
    return (
      <Field label="Vendor">
        {v ? (
          <span data-testid="approval-target" className="flex flex-wrap items-center gap-x-2">
            {v.name}
            {v.bank_account && (
              <MaskedValue
                value={v.bank_account.iban}
                label="Current IBAN"
                recordType="vendor"
                recordId={v.id}
                subject={`${v.name}`}
              />
            )}
          </span>
        ) : (
          <span className="text-muted-foreground">Not in your local data</span>
        )}
      </Field>
    );
  }
  return null;
}

/** A payload or result value: masked values as masked, plain values as text. */
function PayloadValue({ value }: { value: unknown }) {
  if (value && typeof value === "object" && "masked" in value) {
    return <span className="text-muted-foreground font-mono">{String((value as { masked: string }).masked)}</span>;
  }
  if (value === null || value === undefined) return <span className="text-muted-foreground">—</span>;
  return <span className="break-all">{typeof value === "object" ? JSON.stringify(value) : String(value)}</span>;
}

/** Approve or reject, or why not: the server's `can_decide` / `cannot_decide`, before anyone tries. */
function DecidePanel({
  approval: a,
  orgName,
  onStale,
}: {
  approval: Approval;
  orgName?: string;
  onStale: (changes: string[]) => void;
}) {
  const queryClient = useQueryClient();
  const { offline } = useSyncState();
  const [comment, setComment] = useState("");
  const [confirmReject, setConfirmReject] = useState(false);
  const decide = useMutation({
    mutationFn: (decision: Decision) =>
      approvalDecide(a.id, { decision, comment: comment.trim(), version: a.version, on_behalf_of: null }),
    onSuccess: (next, decision) => {
      setConfirmReject(false);
      setComment("");
      queryClient.setQueryData(approvalQuery(a.id).queryKey, next);
      void queryClient.invalidateQueries({ queryKey: ["approvals_list"] });
      toast.success(decision === "approve" ? `Approved: ${approvalTitle(a)}` : `Rejected: ${approvalTitle(a)}`);
    },
    onError: (error) => {
      setConfirmReject(false);
      if (errorCode(error) === "stale_version") {
        // Someone amended it meanwhile: show what it is now, and what changed, before anyone decides again.
        void queryClient.invalidateQueries({ queryKey: ["approvals_list"] });
        void queryClient
          .fetchQuery({ ...approvalQuery(a.id), staleTime: 0 })
          .then((next) => onStale(describeChanges(a, next)))
          .catch(() => onStale([]));
        toast.warning("The request changed since you opened it", {
          description: "It has been reloaded; what changed is listed at the top. Read it again before you decide.",
        });
        return;
      }
      void queryClient.invalidateQueries({ queryKey: approvalQuery(a.id).queryKey });
      toast.error("The decision was not recorded", { description: refusalWords(error) });
    },
  });

  if (!a.can_decide) {
    if (!a.cannot_decide || a.status !== "pending") return null;
    // The server refuses a decision on one's own request by person, exactly as it allows
    // only the requester (by person) to cancel: the same code tells the app it is theirs.
    const own = a.cannot_decide.code === "self_approval_forbidden";
    return (
      <div className="border-t bg-muted/40 px-4 py-3" role="note" data-testid="why-not-me">
        <p className="flex items-center gap-2 text-sm font-medium">
          <CircleSlashIcon className="size-4" aria-hidden="true" />
          You can't decide this request
        </p>
        <p className="text-muted-foreground mt-1 text-sm" data-code={a.cannot_decide.code}>
          {a.cannot_decide.message}
        </p>
        {own && (
          <div className="mt-3 flex gap-2">
            <AmendRequest approval={a} orgName={orgName} />
            <CancelRequest approval={a} />
          </div>
        )}
      </div>
    );
  }

  const pending = decide.isPending;
  const disabledReason = offline ? OFFLINE_ACTION_REASON : null;
  const buttons = (
    <div className="flex gap-2">
      <Button
        onClick={() => decide.mutate("approve")}
        disabled={pending || offline}
        data-testid="approve"
      >
        {pending && decide.variables === "approve" ? <Spinner /> : <CheckIcon aria-hidden="true" />}
        Approve
      </Button>
      <Button
        variant="outline"
        onClick={() => setConfirmReject(true)}
        disabled={pending || offline}
        data-testid="reject"
      >
        <XIcon aria-hidden="true" />
        Reject…
      </Button>
    </div>
  );
  return (
    <div className="flex flex-col gap-2 border-t px-4 py-3" data-testid="decide-panel">
      <Label htmlFor="decision-comment">Comment (optional)</Label>
      <Textarea
        id="decision-comment"
        value={comment}
        onChange={(e) => setComment(e.target.value)}
        placeholder="What you checked, or why you reject it"
        rows={2}
        maxLength={2000}
        data-testid="decision-comment"
      />
      {disabledReason ? (
        <Tooltip>
          <TooltipTrigger asChild>
            <span className="w-fit" tabIndex={0}>
              {buttons}
            </span>
          </TooltipTrigger>
          <TooltipContent>{disabledReason}</TooltipContent>
        </Tooltip>
      ) : (
        buttons
      )}
      <ConfirmDestructive
        open={confirmReject}
        onOpenChange={setConfirmReject}
        title={`Reject this ${approvalKindLabel(a.kind).toLowerCase()}?`}
        description="A rejected request cannot be decided again; the requester has to make a new one."
        cancel="Keep it pending"
        action={`Reject ${approvalTitle(a).replace(/^./, (c) => c.toLowerCase())}`}
        pending={pending}
        onConfirm={() => decide.mutate("reject")}
        testId="reject-confirm"
      />
    </div>
  );
}

/** The requester withdraws a pending request, after a confirmation naming it. */
function CancelRequest({ approval: a }: { approval: Approval }) {
  const queryClient = useQueryClient();
  const { offline } = useSyncState();
  const [confirm, setConfirm] = useState(false);
  const cancel = useMutation({
    mutationFn: () => approvalCancel(a.id),
    onSuccess: (next) => {
      setConfirm(false);
      queryClient.setQueryData(approvalQuery(a.id).queryKey, next);
      void queryClient.invalidateQueries({ queryKey: ["approvals_list"] });
      toast.success(`Cancelled: ${approvalTitle(a)}`);
    },
    onError: (error) => {
      setConfirm(false);
      void queryClient.invalidateQueries({ queryKey: approvalQuery(a.id).queryKey });
      toast.error("The request was not cancelled", { description: refusalWords(error) });
    },
  });
  return (
    <>
      <Button
        variant="outline"
        size="sm"
        onClick={() => setConfirm(true)}
        disabled={cancel.isPending || offline}
        title={offline ? OFFLINE_ACTION_REASON : undefined}
        data-testid="cancel-request"
      >
        <BanIcon aria-hidden="true" />
        Cancel request…
      </Button>
      <ConfirmDestructive
        open={confirm}
        onOpenChange={setConfirm}
        title="Cancel this request?"
        description="Nobody can decide it any more; make a new request if it is still needed."
        cancel="Keep it"
        action={`Cancel ${approvalTitle(a).replace(/^./, (c) => c.toLowerCase())}`}
        pending={cancel.isPending}
        onConfirm={() => cancel.mutate()}
        testId="cancel-confirm"
      />
    </>
  );
}

/** The requester changes amount, details or reason of a pending request (its version moves on). */
function AmendRequest({ approval: a, orgName }: { approval: Approval; orgName?: string }) {
  const { offline } = useSyncState();
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button
        variant="outline"
        size="sm"
        onClick={() => setOpen(true)}
        disabled={offline}
        title={offline ? OFFLINE_ACTION_REASON : undefined}
        data-testid="amend-request"
      >
        <PencilIcon aria-hidden="true" />
        Amend…
      </Button>
      <RequestDialog mode={open ? { amend: a, orgName } : null} onClose={() => setOpen(false)} />
    </>
  );
}
