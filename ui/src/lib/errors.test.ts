import { describe, expect, it } from "vitest";
import type { Code } from "@/bindings/types";
import { ALL_CODES, ERROR_WORDS, errorWords } from "./errors";

// The Code union, as the contract lists it. `satisfies` + the length check below make this
// list, the union and the table agree.
const CONTRACT_CODES = [
  "unauthenticated", "token_invalid", "forbidden", "not_found", "method_not_allowed",
  "invalid_request", "reason_required", "self_approval_forbidden", "self_change_forbidden",
  "already_decided", "stale_version", "request_expired", "not_pending",
  "approval_limit_exceeded", "scope_exceeded", "impersonation_expired",
  "impersonation_not_active", "not_while_impersonating", "step_up_required", "rate_limited",
  "idempotency_key_reused", "payout_hold", "consent_required", "payload_too_large",
  "client_update_required", "account_disabled", "access_pending", "staff_exists", "service_unavailable",
  "internal",
  "offline", "timeout", "network", "tls", "not_countersign", "unexpected_response",
  "not_signed_in", "signed_out", "keyring_unavailable", "config_invalid", "update_required",
  "cache_unavailable", "discovery_failed", "listener_failed", "sign_in_ports_busy", "browser_failed",
  "sign_in_timeout", "sign_in_cancelled", "invalid_callback", "state_mismatch",
  "issuer_mismatch", "provider_error", "code_rejected", "token_request_failed",
  "incomplete_token_response", "nonce_mismatch", "id_token_invalid", "refresh_rejected",
  "revocation_failed", "sign_in_in_progress", "not_found_locally", "support_session_open", "no_support_session",
  "export_cancelled", "export_in_progress", "file_write_failed",
  "updates_unavailable", "update_too_large", "update_signature_invalid", "update_version_unsigned", "update_failed",
] as const satisfies readonly Code[];

// Fails to compile if the union has a code that CONTRACT_CODES lacks.
type Missing = Exclude<Code, (typeof CONTRACT_CODES)[number]>;
const noneMissing: [Missing] extends [never] ? true : never = true;

describe("error words", () => {
  it("has words for every code", () => {
    expect(noneMissing).toBe(true);
    expect([...ALL_CODES].sort()).toEqual([...CONTRACT_CODES].sort());
    for (const code of CONTRACT_CODES) {
      const words = ERROR_WORDS[code];
      expect(words, code).toMatch(/^[A-Z].*[.!]$/);
      expect(words).not.toContain(code.includes("_") ? code : "\u0000");
      expect(words.length).toBeGreaterThan(20);
    }
  });

  it("turns thrown payloads into words, never the raw code", () => {
    expect(errorWords({ code: "rate_limited", message: "429" })).toBe(
      "You have revealed many values recently; wait a minute and try again.",
    );
    expect(errorWords({ code: "not_countersign", message: "x" })).toBe(
      "That address answers but is not a Countersign server. Check the address.",
    );
    const unknown = errorWords({ code: "brand_new_code", message: "boom" });
    expect(unknown).not.toContain("brand_new_code");
    expect(unknown).not.toContain("boom");
    expect(errorWords(new Error("stack"))).not.toContain("stack");
  });
});
