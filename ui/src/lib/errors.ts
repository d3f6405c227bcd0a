import type { Code, ErrorPayload } from "@/bindings/types";

/**
 * The one table from every error code to words: what happened, then what to do.
 * `Record<Code, string>` makes TypeScript refuse a missing code.
 */
export const ERROR_WORDS: Record<Code, string> = {
  // ---- server ----
  unauthenticated: "Your session is no longer valid. Sign in again.",
  token_invalid: "Your session could not be verified. Sign in again.",
  forbidden: "You don't have permission to do this. Ask a security admin if you need it.",
  not_found: "That record no longer exists, or it is outside your access. Sync and try again.",
  method_not_allowed:
    "The server does not accept this action from this version of Countersign. Update the app.",
  invalid_request:
    "The server could not accept this request. Check what you entered and try again.",
  reason_required: "Give a reason of at least 10 characters, then try again.",
  self_approval_forbidden: "You can't decide your own request. Ask another approver.",
  self_change_forbidden: "You can't change your own access. Ask another security admin.",
  already_decided: "Someone already decided this request. Refresh to see the outcome.",
  stale_version: "This record changed since you loaded it. Refresh and try again.",
  request_expired: "This request has expired. Create a new one if it is still needed.",
  not_pending: "This request is no longer waiting for a decision. Refresh to see its state.",
  approval_limit_exceeded:
    "The amount is above your approval limit. Ask an approver with a higher limit.",
  scope_exceeded: "That customer is outside your access. Ask a security admin to extend it.",
  impersonation_expired: "The support session has ended. Start a new one if you still need it.",
  impersonation_not_active: "There is no active support session. Start one first.",
  not_while_impersonating:
    "You can't do this during a support session. End the session, then try again.",
  step_up_required: "This action needs you to confirm your identity. Sign in again, then retry.",
  rate_limited: "You have revealed many values recently; wait a minute and try again.",
  idempotency_key_reused:
    "This request was already sent with different details. Start again from the beginning.",
  payout_hold: "Payouts to this vendor are on hold. Ask finance to review the vendor first.",
  consent_required:
    "This customer requires their consent before support can act. Ask the customer for consent.",
  payload_too_large: "That is too much to send at once. Shorten the text or attachment and try again.",
  client_update_required: "This version of Countersign is too old for the server. Update the app to continue.",
  account_disabled: "Your account is disabled. Ask a security admin if you think this is a mistake.",
  access_pending:
    "Your account is waiting for access. A security admin has been asked to review it; sign in again once they have.",
  staff_exists:
    "This person already has a staff account at that sign-in provider. Find them in the staff list instead.",
  service_unavailable: "The server is busy or under maintenance. Wait a moment and try again.",
  internal: "The server ran into a problem. Try again; if it keeps happening, tell your IT team.",
  // ---- client ----
  support_session_open: "You are already in a support session. End it before you start another.",
  no_support_session: "You are not in a support session (any more). Start one from the customer user's page.",
  offline: "You're offline. Reconnect to the network and try again.",
  timeout: "The server took too long to answer. Check your connection and try again.",
  network: "Can't reach the server. Check the address and your network connection, then try again.",
  tls: "The server's security certificate could not be verified. Check the address, or ask your IT team.",
  not_countersign: "That address answers but is not a Countersign server. Check the address.",
  unexpected_response:
    "The server sent an answer Countersign does not understand. Try again or update the app.",
  not_signed_in: "You're not signed in. Sign in to continue.",
  signed_out: "You were signed out: your session ended or was revoked. Sign in again.",
  keyring_unavailable:
    "The system keyring is not available, so nothing can be stored securely. Unlock or set up your keyring, then try again.",
  config_invalid:
    "The server's sign-in configuration is incomplete. Tell your IT team; try another address meanwhile.",
  update_required: "This version of Countersign is too old for the server. Install the update.",
  cache_unavailable:
    "The local data store could not be opened. Wipe local data in Settings, then sync again.",
  discovery_failed:
    "The sign-in provider could not be reached. Check your connection and try again.",
  listener_failed:
    "Countersign could not wait for your browser to come back. Close other copies of the app and try again.",
  sign_in_ports_busy:
    "Another program is using the ports your company registered for signing in. Close it (or another copy of Countersign) and try again; if it keeps happening, tell your IT administrator.",
  browser_failed: "Countersign could not open your web browser. Set a default browser and try again.",
  sign_in_timeout: "Sign-in took too long. Try again and finish it in your browser.",
  sign_in_cancelled: "Sign-in was cancelled. Sign in again when you're ready.",
  invalid_callback: "The browser came back with an answer that is not valid. Try signing in again.",
  state_mismatch:
    "The browser came back from a different sign-in attempt. Try again from this window.",
  issuer_mismatch:
    "The answer came from a different sign-in provider than expected. Try again, and tell your IT team if it repeats.",
  provider_error: "The sign-in provider refused the sign-in. Try again or ask your IT team.",
  code_rejected: "The sign-in provider rejected the sign-in code. Try signing in again.",
  token_request_failed: "Countersign could not finish signing you in. Try again.",
  incomplete_token_response:
    "The sign-in provider's answer was incomplete. Try again, and tell your IT team if it repeats.",
  nonce_mismatch: "The sign-in answer did not match this attempt. Try signing in again.",
  id_token_invalid:
    "The sign-in provider's identity proof could not be verified. Try again, and tell your IT team if it repeats.",
  refresh_rejected: "Your session has expired. Sign in again.",
  revocation_failed:
    "Signed out here, but the server could not be told. Your session will expire on its own.",
  sign_in_in_progress: "A sign-in is already waiting in your browser. Finish it or cancel it first.",
  not_found_locally: "That record is not in your local data. Sync, then try again.",
  export_cancelled: "The export was cancelled; no file was written.",
  export_in_progress: "An export is already running. Wait for it to finish or cancel it first.",
  file_write_failed:
    "The file could not be written. Choose another folder or free some disk space, then export again.",
  updates_unavailable: "This copy of Countersign does not update itself. Your IT team installs new versions.",
  update_too_large:
    "The update is larger than Countersign accepts, so it was not downloaded. Tell your IT team.",
  update_signature_invalid:
    "The update is not signed with Countersign's release key, so it was not installed. Tell your IT team.",
  update_version_unsigned:
    "The update's signature does not vouch for the version offered, so it was not installed. Tell your IT team.",
  update_failed: "The update could not be installed. Try again; if it keeps happening, tell your IT team.",
};

/** Every code, for tests and exhaustive lists. */
export const ALL_CODES = Object.keys(ERROR_WORDS) as Code[];

const FALLBACK = "Something went wrong. Try again; if it keeps happening, tell your IT team.";

export function isErrorPayload(e: unknown): e is ErrorPayload {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { code?: unknown }).code === "string" &&
    typeof (e as { message?: unknown }).message === "string"
  );
}

/** The code of an error thrown by a command, or null for anything else. */
export function errorCode(e: unknown): Code | null {
  return isErrorPayload(e) && e.code in ERROR_WORDS ? e.code : null;
}

/** Words for a code or for any thrown value: never the raw code, stack or JSON. */
export function errorWords(e: unknown): string {
  if (typeof e === "string" && e in ERROR_WORDS) return ERROR_WORDS[e as Code];
  const code = errorCode(e);
  return code ? ERROR_WORDS[code] : FALLBACK;
}

/**
 * A refusal of an action, in words: the server's own sentence when it gave one — it names what
 * was wrong (“A bank account change for this vendor is already pending.”, the limit and the
 * amount) and never holds internals (API.md: no SQL, stack or internal names in a problem) —
 * else the code's words.
 */
export function refusalWords(e: unknown): string {
  if (isErrorPayload(e) && errorCode(e) && e.detail?.trim()) return e.detail.trim();
  return errorWords(e);
}

/**
 * The request field the server named when it refused a value (`invalid_request` with its one
 * detail form, "The field `email` is invalid: …."), e.g. `email` or `approval_limits.refund`;
 * null for any other error. A form shows its own words next to that field.
 */
export function invalidField(e: unknown): string | null {
  if (errorCode(e) !== "invalid_request") return null;
  const detail = (e as ErrorPayload).detail ?? "";
  return /^The field `([^`]+)` is invalid/.exec(detail.trim())?.[1] ?? null;
}
