import { infiniteQueryOptions } from "@tanstack/react-query";
import { auditSearch } from "@/bindings/commands";
import type { AuditFilter } from "@/bindings/types";
import type { AuditFilters } from "./search";

/** The server's largest page; more load on demand ("Load more"), newest first. */
const PAGE = 200;

export function auditFilter(f: AuditFilters): AuditFilter {
  return {
    org_id: f.org ?? null,
    actor_subject: f.actor ?? null,
    action: f.action ?? null,
    target_type: f.target_type ?? null,
    target_id: f.target_id ?? null,
    outcome: f.outcome ?? null,
    request_id: f.request_id ?? null,
    impersonation_id: f.session ?? null,
    from: f.from ?? null,
    to: f.to ?? null,
    limit: PAGE,
    cursor: null,
  };
}

export const auditQuery = (f: AuditFilters) =>
  infiniteQueryOptions({
    queryKey: ["audit_search", auditFilter(f)] as const,
    queryFn: ({ pageParam }) => auditSearch({ ...auditFilter(f), cursor: pageParam }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
