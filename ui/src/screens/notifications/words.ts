import type { Notification } from "@/bindings/types";
import { approvalKindLabel } from "@/components/status-badge";
import { formatMoney } from "@/lib/format";

/** One notification's identity: what it is about, which kind, when (the server replays it). */
export function notificationKey(n: Notification): string {
  return `${n.kind}:${n.approval_id ?? n.impersonation_id ?? ""}:${n.at}`;
}

/** "Refund of 30,000.00 EUR for Acme Corporation" */
function request(n: Notification): string {
  let s = n.approval_kind ? approvalKindLabel(n.approval_kind) : "Request";
  if (n.amount) s += ` of ${formatMoney(n.amount)}`;
  if (n.org_name) s += ` for ${n.org_name}`;
  return s;
}

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** The notification in words (the same sentences as the OS notification from Rust). */
export function notificationWords(n: Notification): string {
  const what = request(n);
  switch (n.kind) {
    case "to_decide":
      return `${what} waits for your decision${n.actor_name ? ` (requested by ${n.actor_name})` : ""}.`;
    case "expires_soon":
      return `${what}, which waits for your decision, expires within 24 hours.`;
    case "my_request_expires_soon":
      return `Your ${lower(what)} still waits for approval and expires within 24 hours.`;
    case "decided": {
      const verb = n.decision === "reject" ? "rejected" : "approved";
      return `${n.actor_name ?? "Someone"} ${verb} your ${lower(what)}.`;
    }
    case "executed":
      return `Your ${lower(what)} was executed.`;
    case "session_to_approve":
      return `${n.actor_name ?? "An agent"} asks to act as a customer${n.org_name ? ` of ${n.org_name}` : ""}: the support session waits for your approval.`;
  }
}

/** Where a notification leads: the request's detail, or the session's. */
export function notificationTarget(
  n: Notification,
):
  | { to: "/approvals"; search: { list: "to_decide" | "requested" | "history"; open: string } }
  | { to: "/sessions"; search: { list: "to_approve"; open: string } }
  | null {
  if (n.impersonation_id) return { to: "/sessions", search: { list: "to_approve", open: n.impersonation_id } };
  if (!n.approval_id) return null;
  const list =
    n.kind === "to_decide" || n.kind === "expires_soon"
      ? "to_decide"
      : n.kind === "executed" || n.decision === "reject"
        ? "history"
        : "requested";
  return { to: "/approvals", search: { list, open: n.approval_id } };
}
