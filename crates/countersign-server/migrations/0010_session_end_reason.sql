-- Why a support session ended (issue 19, point 1): its agent or a supervisor
-- ended it ('ended'), or the server did because the agent's access no longer
-- covers it ('access_revoked': roles, scope) or the account was deactivated
-- ('account_disabled'). Shown in the review queue.
ALTER TABLE impersonation_sessions ADD COLUMN end_reason text
  CHECK (end_reason IN ('ended', 'access_revoked', 'account_disabled'));
UPDATE impersonation_sessions SET end_reason = 'ended' WHERE status = 'ended';
