import type { Approval } from "@/bindings/types";
import { approvalStatusLabel } from "@/components/status-badge";
import { formatMoney } from "@/lib/format";

/**
 * What changed between the request someone was looking at and the one the server holds now,
 * in words: shown when a decision was refused as `stale_version`, so that the approver reads
 * the difference before deciding again.
 */
export function describeChanges(before: Approval, after: Approval): string[] {
  const out: string[] = [];
  const money = (a: Approval) => (a.amount ? formatMoney(a.amount) : "none");
  if (money(before) !== money(after)) out.push(`Amount: ${money(before)} → ${money(after)}`);
  if (before.reason !== after.reason) out.push(`Reason: “${after.reason}”`);
  if (JSON.stringify(before.payload) !== JSON.stringify(after.payload)) out.push("The requested details changed");
  if (before.status !== after.status) {
    out.push(`Status: ${approvalStatusLabel(before.status)} → ${approvalStatusLabel(after.status)}`);
  }
  const seen = new Set(before.decisions.map((d) => `${d.approver_id}:${d.at}`));
  for (const d of after.decisions) {
    if (!seen.has(`${d.approver_id}:${d.at}`)) {
      out.push(`${d.approver_name} ${d.decision === "approve" ? "approved" : "rejected"}`);
    }
  }
  if (after.version !== before.version) {
    const cleared = before.decisions.some((d) => d.current) && after.decisions.some((d) => !d.current);
    out.push(
      `Version ${before.version} → ${after.version}${cleared ? ": approvals given before the change no longer count" : ""}`,
    );
  }
  return out;
}
