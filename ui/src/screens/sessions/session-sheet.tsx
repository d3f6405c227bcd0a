import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { CheckIcon, ChevronRightIcon, FlagIcon, XIcon } from "lucide-react";
import { toast } from "sonner";
import { sessionAnswer, sessionReview } from "@/bindings/commands";
import type { AuditEvent, ImpersonationSession, ReviewOutcome } from "@/bindings/types";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Collapsible, CollapsibleContent, CollapsibleTrigger } from "@/components/ui/collapsible";
import { Label } from "@/components/ui/label";
import { Sheet, SheetContent, SheetDescription, SheetHeader, SheetTitle } from "@/components/ui/sheet";
import { Skeleton } from "@/components/ui/skeleton";
import { Spinner } from "@/components/ui/spinner";
import { Textarea } from "@/components/ui/textarea";
import { AuditEventFields } from "@/components/audit-event-fields";
import { ConfirmDestructive } from "@/components/confirm-destructive";
import { DetailSection } from "@/components/detail-section";
import { ErrorState } from "@/components/error-state";
import { RelativeTime } from "@/components/relative-time";
import { refusalWords } from "@/lib/errors";
import { formatDateTime, formatTime, humanize } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";
import { cn } from "@/lib/utils";
import { orgUsersQuery, orgsListQuery } from "@/screens/customers/queries";
import { Field } from "@/screens/customers/record-sheet";
import { sessionQuery } from "./queries";

const END_WORDS: Record<string, string> = {
  ended: "Ended by the agent or a supervisor",
  access_revoked: "Ended by the server: the agent's access no longer covered it",
  account_disabled: "Ended by the server: the agent's account was deactivated",
};

/** Where a session stands, in one badge: waiting, active, rejected, ended/expired, and its review. */
export function SessionStatusBadge({ session: s }: { session: ImpersonationSession }) {
  if (s.review === "flagged") return <Badge variant="red">Flagged</Badge>;
  if (s.review === "ok") return <Badge variant="green">Reviewed OK</Badge>;
  switch (s.status) {
    case "pending_approval":
      return <Badge variant="amber">Waits for approval</Badge>;
    case "active":
      return <Badge variant="blue">Active</Badge>;
    case "rejected":
      return <Badge variant="grey">Rejected</Badge>;
    case "expired":
      return <Badge variant="grey">Expired · to review</Badge>;
    default:
      return <Badge variant="grey">Ended · to review</Badge>;
  }
}

/** A session's detail: who, for whom, why, how long, its timeline, and the supervisor's answer or review. */
export function SessionSheet({ id, onClose }: { id: string | null; onClose: () => void }) {
  return (
    <Sheet open={!!id} onOpenChange={(open) => !open && onClose()}>
      <SheetContent className="w-full gap-0 sm:max-w-xl" data-testid="session-detail">
        {id && <Body id={id} />}
      </SheetContent>
    </Sheet>
  );
}

function Body({ id }: { id: string }) {
  const session = useQuery(sessionQuery(id));
  const orgs = useQuery(orgsListQuery);
  const s = session.data;
  const users = useQuery({ ...orgUsersQuery(s?.org_id ?? ""), enabled: !!s });
  if (session.isPending) {
    return (
      <div className="flex flex-col gap-3 p-4" aria-busy="true" aria-label="Loading">
        <Skeleton className="h-5 w-2/3" />
        <Skeleton className="h-4 w-1/2" />
        <Skeleton className="h-32 w-full" />
      </div>
    );
  }
  if (session.isError || !s) {
    return (
      <>
        <SheetHeader className="border-b pr-12">
          <SheetTitle className="text-base">Support session</SheetTitle>
          <SheetDescription className="sr-only">The session could not be loaded</SheetDescription>
        </SheetHeader>
        <ErrorState error={session.error} onRetry={() => void session.refetch()} />
      </>
    );
  }
  const org = orgs.data?.find((o) => o.id === s.org_id);
  const subject = users.data?.find((u) => u.id === s.subject_user_id);
  const timeline = s.timeline ?? [];
  return (
    <>
      <SheetHeader className="border-b pr-12">
        <div className="flex items-center gap-2">
          <SheetTitle className="text-base">Support session by {s.agent_name}</SheetTitle>
          <SessionStatusBadge session={s} />
        </div>
        <SheetDescription>
          As {subject?.name ?? "a customer user"} at {org?.name ?? "a customer outside your local data"}
        </SheetDescription>
      </SheetHeader>
      <div className="flex-1 overflow-auto px-4">
        <dl className="py-2">
          <Field label="Reason">{s.reason}</Field>
          <Field label="Ticket">
            <span className="font-mono">{s.ticket_ref}</span>
          </Field>
          <Field label="Scope">
            {s.scope === "write" ? "Write: acts for the customer (edit profile, resend invoice)" : "Read: sees what the customer sees"}
          </Field>
          <Field label="Duration">{s.duration_minutes} minutes</Field>
          <Field label="Requested">{formatDateTime(s.requested_at)}</Field>
          {s.started_at && <Field label="Started">{formatDateTime(s.started_at)}</Field>}
          {s.ended_at && (
            <Field label="Ended">
              {formatDateTime(s.ended_at)}
              {s.end_reason && <span className="text-muted-foreground block text-xs">{END_WORDS[s.end_reason] ?? humanize(s.end_reason)}</span>}
            </Field>
          )}
          {s.review !== "unreviewed" && (
            <Field label="Review">
              {s.review === "flagged" ? "Flagged" : "OK"}
              {s.review_note && <span className="text-muted-foreground block">“{s.review_note}”</span>}
            </Field>
          )}
        </dl>
        <DetailSection title={`Timeline · ${timeline.length} event${timeline.length === 1 ? "" : "s"}`}>
          {timeline.length === 0 ? (
            <p className="text-muted-foreground text-sm">Nothing was done in this session.</p>
          ) : (
            <ol className="flex flex-col" data-testid="session-timeline">
              {timeline.map((e) => (
                <TimelineEvent key={e.id} event={e} />
              ))}
            </ol>
          )}
          <p className="text-muted-foreground mt-2 text-xs">Opening this timeline is itself recorded in the audit log.</p>
        </DetailSection>
      </div>
      {s.status === "pending_approval" ? <AnswerPanel session={s} /> : s.review === "unreviewed" && s.status !== "rejected" && s.status !== "active" && <ReviewPanel session={s} />}
    </>
  );
}

/** One audit event, newest last; expanded, everything the log holds about it. */
function TimelineEvent({ event: e }: { event: AuditEvent }) {
  const [open, setOpen] = useState(false);
  return (
    <li className="border-b last:border-b-0" data-testid="timeline-event">
      <Collapsible open={open} onOpenChange={setOpen}>
        <CollapsibleTrigger className="hover:bg-muted/50 focus-visible:ring-ring/60 flex w-full items-center gap-2 rounded px-1 py-1.5 text-left text-sm outline-none focus-visible:ring-[3px]">
          <ChevronRightIcon className={cn("size-3.5 shrink-0 transition-transform", open && "rotate-90")} aria-hidden="true" />
          <span className="tabular text-muted-foreground w-16 shrink-0 text-xs">{formatTime(e.at)}</span>
          <span className="min-w-0 flex-1 truncate font-medium">{humanize(e.action.replace(/\./g, "_"))}</span>
          {e.target_type && <span className="text-muted-foreground hidden truncate text-xs sm:inline">{e.target_type}</span>}
          <Badge variant={e.outcome === "success" ? "green" : e.outcome === "denied" ? "amber" : "red"}>
            {e.outcome === "success" ? "Done" : e.outcome === "denied" ? "Refused" : "Failed"}
          </Badge>
        </CollapsibleTrigger>
        <CollapsibleContent>
          <div data-testid="timeline-detail">
            <AuditEventFields event={e} className="bg-muted/30 mb-2 rounded-md px-3 py-1 text-xs" />
          </div>
        </CollapsibleContent>
      </Collapsible>
    </li>
  );
}

/** Approve or reject a waiting session with a comment (never one's own: the server refuses, said in words). */
function AnswerPanel({ session: s }: { session: ImpersonationSession }) {
  const queryClient = useQueryClient();
  const { offline } = useSyncState();
  const { can } = useAccount();
  const [comment, setComment] = useState("");
  const [confirmReject, setConfirmReject] = useState(false);
  const answer = useMutation({
    mutationFn: (approve: boolean) => sessionAnswer(s.id, approve, comment.trim()),
    onSuccess: (next, approve) => {
      setConfirmReject(false);
      queryClient.setQueryData(sessionQuery(s.id).queryKey, { ...next, timeline: s.timeline });
      void queryClient.invalidateQueries({ queryKey: ["sessions_list"] });
      toast.success(approve ? `Approved: ${s.agent_name}'s session` : `Rejected: ${s.agent_name}'s session`, {
        description: approve ? `Its ${s.duration_minutes} minutes start now.` : "The agent is told; nothing was opened.",
      });
    },
    onError: (error) => {
      setConfirmReject(false);
      toast.error("Nothing was recorded", { description: refusalWords(error) });
    },
  });
  if (!can("impersonation:approve")) return null;
  return (
    <div className="flex flex-col gap-2 border-t px-4 py-3" data-testid="answer-panel">
      <Label htmlFor="answer-comment">Comment (optional)</Label>
      <Textarea
        id="answer-comment"
        value={comment}
        onChange={(e) => setComment(e.target.value)}
        rows={2}
        maxLength={2000}
        placeholder="What you checked, or why not"
      />
      <div className="flex gap-2">
        <Button
          onClick={() => answer.mutate(true)}
          disabled={answer.isPending || offline}
          title={offline ? OFFLINE_ACTION_REASON : undefined}
          data-testid="session-approve"
        >
          {answer.isPending && answer.variables ? <Spinner /> : <CheckIcon aria-hidden="true" />}
          Approve session
        </Button>
        <Button variant="outline" onClick={() => setConfirmReject(true)} disabled={answer.isPending || offline} data-testid="session-reject">
          <XIcon aria-hidden="true" />
          Reject…
        </Button>
      </div>
      <ConfirmDestructive
        open={confirmReject}
        onOpenChange={setConfirmReject}
        title={`Reject ${s.agent_name}'s support session?`}
        description="The agent cannot use it; they have to ask again."
        cancel="Keep waiting"
        action="Reject the session"
        pending={answer.isPending}
        onConfirm={() => answer.mutate(false)}
        testId="session-reject-confirm"
      />
    </div>
  );
}

/** Mark an ended session reviewed: OK, or flagged with a note saying what is wrong. */
function ReviewPanel({ session: s }: { session: ImpersonationSession }) {
  const queryClient = useQueryClient();
  const { offline } = useSyncState();
  const { can } = useAccount();
  const [note, setNote] = useState("");
  const [missingNote, setMissingNote] = useState(false);
  const review = useMutation({
    mutationFn: (outcome: ReviewOutcome) => sessionReview(s.id, { outcome, note: note.trim() }),
    onSuccess: (next, outcome) => {
      queryClient.setQueryData(sessionQuery(s.id).queryKey, { ...next, timeline: s.timeline });
      void queryClient.invalidateQueries({ queryKey: ["sessions_list"] });
      toast.success(outcome === "ok" ? "Reviewed: OK" : "Flagged for follow-up");
    },
    onError: (error) => toast.error("The review was not recorded", { description: refusalWords(error) }),
  });
  if (!can("impersonation:review")) return null;
  return (
    <div className="flex flex-col gap-2 border-t px-4 py-3" data-testid="review-panel">
      <Label htmlFor="review-note">Review note</Label>
      <Textarea
        id="review-note"
        value={note}
        onChange={(e) => {
          setNote(e.target.value);
          setMissingNote(false);
        }}
        rows={2}
        maxLength={2000}
        placeholder="What you checked; for a flag, what is wrong"
        aria-invalid={missingNote}
        data-testid="review-note"
      />
      {missingNote && (
        <p role="alert" className="text-destructive text-sm">
          Say what is wrong before flagging: the note goes to whoever follows it up.
        </p>
      )}
      <div className="flex gap-2">
        <Button
          onClick={() => review.mutate("ok")}
          disabled={review.isPending || offline}
          title={offline ? OFFLINE_ACTION_REASON : undefined}
          data-testid="review-ok"
        >
          <CheckIcon aria-hidden="true" />
          Mark OK
        </Button>
        <Button
          variant="outline"
          className="text-destructive"
          onClick={() => (note.trim() ? review.mutate("flagged") : setMissingNote(true))}
          disabled={review.isPending || offline}
          data-testid="review-flag"
        >
          <FlagIcon aria-hidden="true" />
          Flag
        </Button>
        <span className="text-muted-foreground ml-auto self-center text-xs">
          Ended <RelativeTime value={s.ended_at ?? s.expires_at ?? s.requested_at} />
        </span>
      </div>
    </div>
  );
}
