import { useMutation } from "@tanstack/react-query";
import { ShieldAlertIcon, ShieldCheckIcon, XIcon } from "lucide-react";
import { auditVerify } from "@/bindings/commands";
import type { AuditVerification } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import { Spinner } from "@/components/ui/spinner";
import { refusalWords } from "@/lib/errors";
import { formatCount, formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";

/** The server recomputes the hash chain and its signed checkpoints; one run at a time. */
export function useVerifyChain() {
  return useMutation({ mutationFn: auditVerify });
}
export type VerifyChain = ReturnType<typeof useVerifyChain>;

export function VerifyChainButton({ verify }: { verify: VerifyChain }) {
  return (
    <Button
      variant="outline"
      onClick={() => verify.mutate()}
      disabled={verify.isPending}
      aria-busy={verify.isPending}
      data-testid="audit-verify"
    >
      {verify.isPending ? <Spinner /> : <ShieldCheckIcon aria-hidden="true" />}
      {verify.isPending ? "Verifying…" : "Verify chain"}
    </Button>
  );
}

const plural = (n: number, one: string) => `${formatCount(n)} ${one}${n === 1 ? "" : "s"}`;

/** What the server found, where the auditor sees it: under the title until dismissed. */
export function VerifyChainResult({ verify }: { verify: VerifyChain }) {
  if (verify.isIdle || verify.isPending) return null;
  const v: AuditVerification | undefined = verify.data;
  const broken = verify.isError || !v?.ok;
  return (
    <div
      role={broken ? "alert" : "status"}
      data-testid="audit-verify-result"
      className={cn(
        "flex items-start gap-3 rounded-md border px-4 py-3 text-sm",
        broken
          ? "border-red-300/70 bg-red-50 text-red-900 dark:border-red-400/30 dark:bg-red-400/10 dark:text-red-200"
          : "border-emerald-300/70 bg-emerald-50 text-emerald-900 dark:border-emerald-400/30 dark:bg-emerald-400/10 dark:text-emerald-200",
      )}
    >
      {broken ? (
        <ShieldAlertIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
      ) : (
        <ShieldCheckIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
      )}
      <div className="grid flex-1 gap-1">{verify.isError ? <Failed error={verify.error} /> : v && <Found v={v} />}</div>
      <Button
        variant="ghost"
        size="icon"
        className="-my-1 -mr-2 size-7 shrink-0"
        onClick={() => verify.reset()}
        aria-label="Dismiss the verification result"
      >
        <XIcon />
      </Button>
    </div>
  );
}

function Found({ v }: { v: AuditVerification }) {
  const at = formatDateTime(v.verified_at);
  if (v.ok) {
    return (
      <p className="font-medium">
        Chain intact: {plural(v.events_checked, "event")}, {plural(v.checkpoints_checked, "checkpoint")}, verified at {at}.
      </p>
    );
  }
  const bad = v.first_bad;
  return (
    <>
      <p className="font-medium">
        {bad ? `Chain broken at event ${formatCount(bad.seq)}: ${bad.reason}.` : "The chain did not verify."}
      </p>
      <p>
        {plural(v.events_valid, "event")} before it verified; {formatCount(v.checkpoints_valid)} of{" "}
        {plural(v.checkpoints_checked, "signed checkpoint")} valid. Verified at {at}. The log was changed outside
        Countersign: tell your security team.
      </p>
    </>
  );
}

function Failed({ error }: { error: unknown }) {
  return (
    <>
      <p className="font-medium">The chain was not verified.</p>
      <p>{refusalWords(error)}</p>
    </>
  );
}
