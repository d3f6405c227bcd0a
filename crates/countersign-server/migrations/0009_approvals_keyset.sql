-- GET /v1/approvals pages newest first by (created_at, id) across the
-- caller's orgs; with its cursor now an index condition (db::page_start), a
-- page starts at the cursor in this index instead of after a scan of every
-- newer request.
CREATE INDEX approval_requests_created ON approval_requests (created_at DESC, id DESC);
