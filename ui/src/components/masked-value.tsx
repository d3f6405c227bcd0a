import { LockIcon } from "lucide-react";
import type { Masked, RecordType } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip";
import { useRevealOpener } from "@/components/reveal-context";
import { revealPermissionFor, useAccount } from "@/lib/permissions";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";
import { cn } from "@/lib/utils";
import { useSupport } from "@/screens/support/queries";

type MaskedValueProps = {
  value: Masked;
  /** The field in words ("E-mail"): names the Reveal button and the dialog. */
  label: string;
  recordType: RecordType;
  recordId: string;
  /** Whose value: "Jane Doe at Acme GmbH". */
  subject: string;
  /** Tables show the mask only; detail panes add the Reveal button. */
  showReveal?: boolean;
  className?: string;
};

/**
 * A masked field: monospace, muted, a lock icon, and a small Reveal button only where the
 * field is revealable and the user has the permission. The revealed value never shows here:
 * it lives in the reveal dialog alone.
 */
export function MaskedValue({
  value,
  label,
  recordType,
  recordId,
  subject,
  showReveal = true,
  className,
}: MaskedValueProps) {
  const { can } = useAccount();
  const { offline } = useSyncState();
  const openReveal = useRevealOpener();
  const permission = revealPermissionFor(value.field);
  // No reveal inside a support session (the server refuses it: not_while_impersonating).
  const { active: inSession } = useSupport();
  const mayReveal =
    showReveal && value.revealable && permission !== null && can(permission) && !!openReveal && !inSession;
  const display = value.masked || "hidden";

  return (
    <span className={cn("inline-flex min-w-0 items-center gap-2", className)}>
      <span
        className="text-muted-foreground inline-flex min-w-0 items-center gap-1.5 font-mono text-[13px]"
        data-testid="masked-value"
        data-field={value.field}
      >
        <LockIcon className="size-3.5 shrink-0 opacity-70" aria-hidden="true" />
        <span className="truncate">
          <span className="sr-only">{label}, masked: </span>
          {display}
        </span>
      </span>
      {mayReveal &&
        (offline ? (
          <Tooltip>
            <TooltipTrigger asChild>
              <Button
                type="button"
                variant="outline"
                size="xs"
                aria-disabled="true"
                className="cursor-not-allowed opacity-50"
                data-testid="reveal-button"
                data-field={value.field}
                aria-label={`Reveal ${label.toLowerCase()} (unavailable offline)`}
                onClick={(e) => e.preventDefault()}
              >
                Reveal
              </Button>
            </TooltipTrigger>
            <TooltipContent>{OFFLINE_ACTION_REASON}</TooltipContent>
          </Tooltip>
        ) : (
          <Button
            type="button"
            variant="outline"
            size="xs"
            data-testid="reveal-button"
            data-field={value.field}
            aria-label={`Reveal ${label.toLowerCase()}`}
            onClick={() =>
              openReveal?.({
                recordType,
                recordId,
                field: value.field,
                label,
                subject,
                masked: display,
              })
            }
          >
            Reveal
          </Button>
        ))}
    </span>
  );
}
