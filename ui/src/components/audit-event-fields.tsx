import type { ReactNode } from "react";
import type { AuditEvent } from "@/bindings/types";
import { formatDateTime } from "@/lib/format";

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[7rem_minmax(0,1fr)] gap-2 py-0.5">
      <dt className="text-muted-foreground">{label}</dt>
      <dd className="font-mono break-all">{children}</dd>
    </div>
  );
}

/**
 * Everything the audit log holds about one event, as the log holds it (codes and ids verbatim:
 * auditors quote them): actor, on-behalf-of, the support session and its subject, target,
 * outcome and code, reason, request id, origin, details, and the hash chain.
 */
export function AuditEventFields({ event: e, className }: { event: AuditEvent; className?: string }) {
  const details = e.details && typeof e.details === "object" && Object.keys(e.details).length > 0 ? e.details : null;
  return (
    <dl className={className} data-testid="audit-event-fields">
      <Row label="Seq">{e.seq}</Row>
      <Row label="When">{formatDateTime(e.at)}</Row>
      <Row label="Actor">
        {e.actor.kind ?? "unknown"} · {e.actor.subject ?? "—"}
        {e.actor.issuer ? ` · ${e.actor.issuer}` : ""}
      </Row>
      {e.on_behalf_of !== null && <Row label="On behalf of">{JSON.stringify(e.on_behalf_of)}</Row>}
      {e.impersonation_id && <Row label="Support session">{e.impersonation_id}</Row>}
      {e.org_id && <Row label="Customer">{e.org_id}</Row>}
      <Row label="Action">{e.action}</Row>
      {e.target_type && (
        <Row label="Target">
          {e.target_type} {e.target_id}
        </Row>
      )}
      <Row label="Outcome">{e.outcome}</Row>
      {e.code && <Row label="Code">{e.code}</Row>}
      {e.reason && <Row label="Reason">{e.reason}</Row>}
      <Row label="Request">{e.request_id}</Row>
      {e.ip && <Row label="From">{`${e.ip}${e.user_agent ? ` · ${e.user_agent}` : ""}`}</Row>}
      {details && <Row label="Details">{JSON.stringify(details)}</Row>}
      <Row label="Hash">{e.hash}</Row>
      <Row label="Previous hash">{e.prev_hash}</Row>
    </dl>
  );
}
