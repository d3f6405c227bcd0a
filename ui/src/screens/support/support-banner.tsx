import { useEffect, useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate, useRouterState } from "@tanstack/react-router";
import { HeadsetIcon, HourglassIcon } from "lucide-react";
import { toast } from "sonner";
import { supportEnd } from "@/bindings/commands";
import type { SupportView } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import { ConfirmDestructive } from "@/components/confirm-destructive";
import { RelativeTime } from "@/components/relative-time";
import { refusalWords } from "@/lib/errors";
import { useTitlePrefix } from "@/lib/title";
import { cn } from "@/lib/utils";
import { endedWords, formatCountdown, isCurrent, remainingMs, supportStatusQuery } from "./queries";

/** Red under two minutes (UI.md). */
const HURRY_MS = 2 * 60_000;

/**
 * The support-session banner (UI.md): full width at the top of every screen while the app is
 * in a session, not dismissable. Active: "Acting as <subject> at <org> — read|write — 12:34
 * left — End session", the countdown on the server's clock. Waiting: says so, with Cancel.
 * It also follows the session: approval starts it, and when the server says it is over
 * (expired, rejected, ended by a supervisor) the app leaves the customer's view and says why.
 */
export function SupportBanner() {
  const { data } = useQuery(supportStatusQuery);
  const current = isCurrent(data) ? data : null;
  useSessionFollower(data ?? null);
  useTitlePrefix(current ? "Support session" : null);
  if (!current) return null;
  return current.session.status === "active" ? <ActiveBanner v={current} /> : <WaitingBanner v={current} />;
}

function ActiveBanner({ v }: { v: SupportView }) {
  const left = useCountdown(v);
  const hurry = left < HURRY_MS;
  return (
    <div
      role="region"
      aria-label="Support session"
      data-testid="support-banner"
      className="flex items-center gap-3 border-b border-amber-500 bg-amber-300 px-4 py-2 text-sm text-amber-950 dark:border-amber-400 dark:bg-amber-400 dark:text-amber-950"
    >
      <HeadsetIcon className="size-4 shrink-0" aria-hidden="true" />
      <p className="min-w-0 flex-1 truncate">
        Acting as <strong data-testid="support-subject">{v.subject_name}</strong> at{" "}
        <strong>{v.org_name}</strong>
        <span aria-hidden="true"> — </span>
        <span className="font-medium uppercase tracking-wide" data-testid="support-scope">
          {v.session.scope}
        </span>
        <span aria-hidden="true"> — </span>
        <span
          className={cn("tabular font-semibold", hurry && "rounded bg-red-700 px-1.5 py-0.5 text-white")}
          data-testid="support-countdown"
          role="timer"
          aria-label={`${formatCountdown(left)} left`}
        >
          {formatCountdown(left)}
        </span>{" "}
        left
      </p>
      <EndButton v={v} label="End session" />
    </div>
  );
}

function WaitingBanner({ v }: { v: SupportView }) {
  return (
    <div
      role="region"
      aria-label="Support session waiting for approval"
      data-testid="support-waiting"
      className="flex items-center gap-3 border-b border-sky-300/70 bg-sky-50 px-4 py-2 text-sm text-sky-950 dark:border-sky-400/30 dark:bg-sky-400/10 dark:text-sky-100"
    >
      <HourglassIcon className="size-4 shrink-0" aria-hidden="true" />
      <p className="min-w-0 flex-1 truncate">
        Waiting for a supervisor to approve your <strong>{v.session.scope}</strong> session with{" "}
        <strong>{v.subject_name}</strong> at <strong>{v.org_name}</strong>, requested{" "}
        <RelativeTime value={v.session.requested_at} />. Its {v.session.duration_minutes} minutes start when it is
        approved.
      </p>
      <EndButton v={v} label="Cancel request" />
    </div>
  );
}

/** Ending cannot be undone (a new session needs a new reason, maybe a new approval): confirmed. */
function EndButton({ v, label }: { v: SupportView; label: string }) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const end = useMutation({
    mutationFn: supportEnd,
    onSuccess: () => {
      leaving.current = true;
      queryClient.setQueryData(supportStatusQuery.queryKey, null);
      void queryClient.invalidateQueries({ queryKey: ["customer_users"] });
      void queryClient.invalidateQueries({ queryKey: ["customer_invoices"] });
      setOpen(false);
      toast.success(
        v.session.status === "active"
          ? `Support session with ${v.subject_name} ended`
          : `Request for a support session with ${v.subject_name} withdrawn`,
      );
    },
    onError: (e) => toast.error("The session could not be ended", { description: refusalWords(e) }),
  });
  return (
    <>
      <Button
        size="sm"
        variant="outline"
        className="border-amber-950/30 bg-white/70 text-amber-950 hover:bg-white dark:bg-white/80"
        onClick={() => setOpen(true)}
        data-testid="support-end"
      >
        {label}
      </Button>
      <ConfirmDestructive
        open={open}
        onOpenChange={setOpen}
        title={v.session.status === "active" ? `End the session with ${v.subject_name}?` : "Withdraw the request?"}
        description={
          v.session.status === "active"
            ? "You leave the customer's view now. To act for them again you need a new session with a reason."
            : "The supervisor will no longer see it. To help this customer later you need a new request."
        }
        cancel="Keep it"
        action={v.session.status === "active" ? `End session with ${v.subject_name}` : "Withdraw request"}
        pending={end.isPending}
        onConfirm={() => end.mutate()}
        testId="support-end-confirm"
      />
    </>
  );
}

/** Ended here by the user: the follower says nothing (the End button did). */
const leaving = { current: false };

/** Time left on the server's clock, ticking each second; at zero it asks the server (which says expired). */
function useCountdown(v: SupportView): number {
  const queryClient = useQueryClient();
  const expiresAt = v.session.expires_at!;
  // The offset comes from whole-second Date headers: never show more than the session's length.
  const full = v.session.duration_minutes * 60_000;
  const [left, setLeft] = useState(() => Math.min(full, remainingMs(expiresAt, v.clock_offset_ms)));
  const asked = useRef(false);
  useEffect(() => {
    asked.current = false;
    const tick = () => {
      const ms = Math.min(full, remainingMs(expiresAt, v.clock_offset_ms));
      setLeft(ms);
      if (ms <= 0 && !asked.current) {
        asked.current = true;
        void queryClient.invalidateQueries({ queryKey: supportStatusQuery.queryKey });
      }
    };
    tick();
    const id = setInterval(tick, 1000);
    return () => clearInterval(id);
  }, [expiresAt, v.clock_offset_ms, full, queryClient]);
  return left;
}

/**
 * Follows the session between answers: approved → it starts (toast); over → the app leaves
 * the customer's view and says why (the server's final status, or the refusal that ended it).
 */
function useSessionFollower(data: SupportView | null) {
  const navigate = useNavigate();
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  const queryClient = useQueryClient();
  const before = useRef<SupportView | null>(null);
  useEffect(() => {
    const prev = before.current;
    const now = isCurrent(data) ? data : null;
    before.current = now;
    if (leaving.current) {
      leaving.current = false;
      if (pathname === "/support") void navigate({ to: "/" });
      return;
    }
    if (!prev) return;
    if (now?.session.status === "active" && prev.session.status === "pending_approval") {
      toast.success(`Approved: your session with ${now.subject_name} has started`, {
        description: `${now.session.duration_minutes} minutes from now. The customer's view is open.`,
      });
      void navigate({ to: "/support" });
      return;
    }
    if (!now) {
      toast.warning(data ? endedWords(data) : `Your support session with ${prev.subject_name} has ended.`, {
        duration: 10_000,
      });
      if (data) queryClient.setQueryData(supportStatusQuery.queryKey, null);
      if (pathname === "/support") void navigate({ to: "/" });
    }
  }, [data, navigate, pathname, queryClient]);
}
