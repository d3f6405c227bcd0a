-- Amounts compare in one currency (issue 19, point 7; API.md, Approvals):
-- each request records, at creation, the base currency, the configured rate
-- of its own currency and the amount in the base currency. Requests from
-- before this had none; those in the base currency are backfilled, others
-- are converted at the configured rate when decided (or refused without one).
ALTER TABLE approval_requests
  ADD COLUMN base_currency text,
  ADD COLUMN exchange_rate numeric CHECK (exchange_rate > 0),
  ADD COLUMN amount_base_minor bigint;
UPDATE approval_requests SET base_currency = 'EUR', exchange_rate = 1, amount_base_minor = amount_minor
 WHERE amount_minor IS NOT NULL AND currency = 'EUR';
