import { queryOptions, useQuery } from "@tanstack/react-query";
import { customerInvoices, customerUsers, supportAccess, supportStatus } from "@/bindings/commands";
import type { SupportView } from "@/bindings/types";

/**
 * The support session this app is in, as the server sees it now. A waiting one is asked
 * about often (the supervisor's answer should show within seconds); an active one now and
 * then (a supervisor may end it); the countdown asks again at the deadline.
 */
export const supportStatusQuery = queryOptions({
  queryKey: ["support_status"] as const,
  queryFn: supportStatus,
  refetchInterval: (q) => {
    const status = q.state.data?.session.status;
    return status === "pending_approval" ? 3_000 : status === "active" ? 20_000 : false;
  },
});

export const supportAccessQuery = (orgId: string) =>
  queryOptions({ queryKey: ["support_access", orgId] as const, queryFn: () => supportAccess(orgId) });

export const customerUsersQuery = (sessionId: string) =>
  queryOptions({ queryKey: ["customer_users", sessionId] as const, queryFn: customerUsers });

export const customerInvoicesQuery = (sessionId: string) =>
  queryOptions({ queryKey: ["customer_invoices", sessionId] as const, queryFn: customerInvoices });

/** Waiting for a supervisor, or active: the app is in it. */
export function isCurrent(v: SupportView | null | undefined): v is SupportView {
  return v?.session.status === "pending_approval" || v?.session.status === "active";
}

/** The session the app is in (waiting or active), if any. */
export function useSupport() {
  const { data } = useQuery(supportStatusQuery);
  const current = isCurrent(data) ? data : null;
  return {
    support: current,
    /** Inside an active session: the customer's view, staff actions hidden. */
    active: current?.session.status === "active",
    waiting: current?.session.status === "pending_approval",
  };
}

/** Milliseconds left until `expiresAt` on the server's clock (`Date.now()` corrected by the offset). */
export function remainingMs(expiresAt: string, clockOffsetMs: number, now = Date.now()): number {
  return Date.parse(expiresAt) - (now + clockOffsetMs);
}

/** mm:ss, never negative. */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

/** Why a session the app was in is over, in words (the status the server gave it). */
export function endedWords(v: SupportView): string {
  const who = `${v.subject_name} at ${v.org_name}`;
  switch (v.session.status) {
    case "expired":
      return `Your support session with ${who} has ended: its time ran out.`;
    case "rejected":
      return `A supervisor rejected your support session with ${who}.`;
    case "ended":
      return v.session.end_reason === "access_revoked"
        ? `Your support session with ${who} has ended: your access changed.`
        : v.session.end_reason === "account_disabled"
          ? `Your support session with ${who} has ended: your account was disabled.`
          : `Your support session with ${who} was ended by a supervisor.`;
    default:
      return `Your support session with ${who} has ended.`;
  }
}
