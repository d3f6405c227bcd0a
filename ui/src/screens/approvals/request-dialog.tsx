import { useEffect, useMemo, useRef, useState } from "react";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { isValidIBAN, electronicFormatIBAN } from "ibantools";
import { z } from "zod";
import { SendIcon, TriangleAlertIcon } from "lucide-react";
import { toast } from "sonner";
import { approvalAmend, approvalRequest } from "@/bindings/commands";
import type { Approval, ApprovalKind, Invoice, Money, Org, Vendor } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogClose,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import {
  Form,
  FormControl,
  FormDescription,
  FormField,
  FormItem,
  FormLabel,
  FormMessage,
} from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { Spinner } from "@/components/ui/spinner";
import { Textarea } from "@/components/ui/textarea";
import { approvalKindLabel } from "@/components/status-badge";
import { errorCode, errorWords, refusalWords } from "@/lib/errors";
import { currencyDigits, formatAmount, formatMoney, parseAmount } from "@/lib/format";
import { useSyncState, OFFLINE_ACTION_REASON } from "@/lib/sync-state";
import { cn } from "@/lib/utils";
import { approvalQuery } from "./queries";

/** What a new request is about: the invoice, the vendor or the org, as the server expects for each kind. */
export type RequestTarget =
  | { kind: "refund" | "credit_note"; org: Org; invoice: Invoice }
  | { kind: "vendor_bank_change" | "payout_release"; org: Org; vendor: Vendor }
  | { kind: "data_export"; org: Org };

/** The dialog makes a new request, or amends the caller's own pending one. */
export type RequestDialogMode = { target: RequestTarget } | { amend: Approval; orgName?: string };

// The server's rules (API.md "Approvals", countersign-server approve::store::validate),
// checked here first so that a mistake is said next to its field.
const MIN_REASON = 10;
const MAX_REASON = 2000;
const MAX_BANK_TEXT = 200;

const reasonSchema = z
  .string()
  .refine((s) => s.trim().length >= MIN_REASON, {
    message: `Write at least ${MIN_REASON} characters: what happened, and the ticket if there is one.`,
  })
  .refine((s) => s.trim().length <= MAX_REASON, { message: `At most ${MAX_REASON} characters.` });

const bankText = (what: string) =>
  z
    .string()
    .refine((s) => s.trim().length > 0, { message: `Enter the ${what}.` })
    .refine((s) => s.trim().length <= MAX_BANK_TEXT, { message: `At most ${MAX_BANK_TEXT} characters.` });

/** Amount bounds: above zero, at most `max` (the invoice's total), in `currency`'s decimals. */
function amountSchema(currency: string, max: number | null) {
  return z.string().superRefine((text, ctx) => {
    const minor = parseAmount(text, currency);
    if (text.trim() === "") {
      ctx.addIssue({ code: "custom", message: "Enter the amount." });
    } else if (minor === null) {
      const digits = currencyDigits(currency);
      ctx.addIssue({
        code: "custom",
        message: `Enter an amount in ${currency}${digits ? ` with at most ${digits} decimals` : " without decimals"}, e.g. ${formatAmount({ amount_minor: 125 * 10 ** digits, currency })}.`,
      });
    } else if (minor <= 0) {
      ctx.addIssue({ code: "custom", message: "The amount must be greater than zero." });
    } else if (max !== null && minor > max) {
      ctx.addIssue({
        code: "custom",
        message: `At most the invoice's total, ${formatMoney({ amount_minor: max, currency })}.`,
      });
    }
  });
}

const ibanSchema = z.string().refine((s) => isValidIBAN(electronicFormatIBAN(s) ?? ""), {
  message: "This is not a valid IBAN: check the country code, the length and the check digits.",
});

/** The form's fields for `kind`; amending, the bank details may be left as they are (all three empty). */
export function requestSchema(kind: ApprovalKind, opts: { currency: string | null; max: number | null; amend: boolean }) {
  const base = { reason: reasonSchema };
  if (kind === "refund" || kind === "credit_note" || kind === "payout_release") {
    return z.object({ ...base, amount: amountSchema(opts.currency ?? "EUR", opts.max) });
  }
  if (kind === "vendor_bank_change") {
    const bank = z.object({
      ...base,
      iban: ibanSchema,
      bank_name: bankText("bank's name"),
      account_holder: bankText("account holder"),
    });
    if (!opts.amend) return bank;
    // Amending: keep the details (all empty) or replace all three.
    return z.union([
      z.object({ ...base, iban: z.literal(""), bank_name: z.literal(""), account_holder: z.literal("") }),
      bank,
    ]);
  }
  return z.object(base);
}

type Values = { reason: string; amount?: string; iban?: string; bank_name?: string; account_holder?: string };

function newKey(): string {
  return crypto.randomUUID();
}

/** "Request a refund", "Amend the refund": the dialog's title. */
function titleOf(kind: ApprovalKind, amend: boolean): string {
  const label = approvalKindLabel(kind).toLowerCase();
  return amend ? `Amend the ${label} request` : `Request a ${label}`;
}

/**
 * One form per kind of request (refund, credit note, vendor bank change, payout release, data
 * export), react-hook-form + zod mirroring the server's validation. The submission carries one
 * Idempotency-Key, made anew whenever the form's values change: the same submission sent twice
 * (a double click) makes one request; a corrected form is a new one.
 */
export function RequestDialog({ mode, onClose }: { mode: RequestDialogMode | null; onClose: () => void }) {
  return (
    <Dialog open={mode !== null} onOpenChange={(open) => !open && onClose()}>
      {mode && <RequestBody key={"amend" in mode ? mode.amend.id : mode.target.kind} mode={mode} onClose={onClose} />}
    </Dialog>
  );
}

function RequestBody({ mode, onClose }: { mode: RequestDialogMode; onClose: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { offline } = useSyncState();
  const amend = "amend" in mode ? mode.amend : null;
  const target = "target" in mode ? mode.target : null;
  const kind: ApprovalKind = amend ? amend.kind : target!.kind;
  const currency =
    amend?.amount?.currency ?? (target && "invoice" in target ? target.invoice.amount.currency : null) ?? "EUR";
  const max = target && "invoice" in target ? target.invoice.amount.amount_minor : null;
  const hasAmount = kind === "refund" || kind === "credit_note" || kind === "payout_release";
  const schema = useMemo(() => requestSchema(kind, { currency, max, amend: !!amend }), [kind, currency, max, amend]);
  const [refusal, setRefusal] = useState<unknown>(null);

  const form = useForm<Values>({
    resolver: zodResolver(schema as z.ZodType<Values, Values>),
    defaultValues: {
      reason: amend?.reason ?? "",
      amount: amend?.amount ? formatAmount(amend.amount).replace(/,/g, "") : "",
      iban: "",
      bank_name: "",
      account_holder: "",
    },
    mode: "onSubmit",
    reValidateMode: "onChange",
  });

  // One key per submission of the same values.
  const key = useRef(newKey());
  useEffect(() => {
    const sub = form.watch(() => {
      key.current = newKey();
    });
    return () => sub.unsubscribe();
  }, [form]);

  const submit = form.handleSubmit(async (v) => {
    setRefusal(null);
    const amount: Money | null = hasAmount ? { amount_minor: parseAmount(v.amount ?? "", currency)!, currency } : null;
    const bank = v.iban
      ? {
          iban: electronicFormatIBAN(v.iban) ?? v.iban,
          bank_name: v.bank_name!.trim(),
          account_holder: v.account_holder!.trim(),
        }
      : null;
    try {
      let result: Approval;
      if (amend) {
        result = await approvalAmend(amend.id, {
          amount,
          payload: bank,
          reason: v.reason.trim() === amend.reason ? null : v.reason.trim(),
          version: amend.version,
        });
        queryClient.setQueryData(approvalQuery(amend.id).queryKey, result);
        toast.success(`Amended: ${approvalKindLabel(kind)}`, {
          description: "Its version moved on; approvals given before the change no longer count.",
        });
      } else {
        const t = target!;
        result = await approvalRequest(
          {
            kind,
            org_id: t.org.id,
            target_id: "invoice" in t ? t.invoice.id : "vendor" in t ? t.vendor.id : t.org.id,
            amount,
            payload: bank ?? {},
            reason: v.reason.trim(),
          },
          key.current,
        );
        toast.success(`Requested: ${approvalKindLabel(kind)}${amount ? ` of ${formatMoney(amount)}` : ""}`, {
          description: "It waits in Approvals until it is decided.",
          action: {
            label: "Open",
            onClick: () => void navigate({ to: "/approvals", search: { list: "requested", open: result.id } }),
          },
        });
      }
      void queryClient.invalidateQueries({ queryKey: ["approvals_list"] });
      onClose();
    } catch (e) {
      const code = errorCode(e);
      if (code === "reason_required") {
        form.setError("reason", { message: errorWords(e) });
      } else if (code === "stale_version" && amend) {
        void queryClient.invalidateQueries({ queryKey: approvalQuery(amend.id).queryKey });
        setRefusal(e);
      } else {
        setRefusal(e);
      }
    }
  });

  const subject = amend
    ? ("orgName" in mode && mode.orgName) || "this customer"
    : target!.kind === "data_export"
      ? `all of ${target!.org.name}'s data`
      : "invoice" in target!
        ? `invoice ${target!.invoice.number} of ${target!.org.name} (${formatMoney(target!.invoice.amount)})`
        : `${target!.vendor.name}, vendor of ${target!.org.name}`;
  const reason = form.watch("reason");
  const count = reason.trim().length;
  const submitting = form.formState.isSubmitting;

  return (
    <DialogContent className="sm:max-w-lg" data-testid="request-dialog" onInteractOutside={(e) => e.preventDefault()}>
      <DialogHeader>
        <DialogTitle className="flex items-center gap-2">
          <SendIcon className="size-4" aria-hidden="true" />
          {titleOf(kind, !!amend)}
        </DialogTitle>
        <DialogDescription>
          {amend
            ? "A change moves the request to a new version: approvals given so far no longer count."
            : `For ${subject}. It needs approval before anything happens.`}
        </DialogDescription>
      </DialogHeader>
      <Form {...form}>
        <form onSubmit={submit} noValidate className="grid gap-4">
          {hasAmount && (
            <FormField
              control={form.control}
              name="amount"
              render={({ field }) => (
                <FormItem>
                  <FormLabel>Amount ({currency})</FormLabel>
                  <FormControl>
                    <Input {...field} inputMode="decimal" autoComplete="off" autoFocus className="tabular" data-testid="request-amount" />
                  </FormControl>
                  {max !== null && (
                    <FormDescription>At most {formatMoney({ amount_minor: max, currency })}, the invoice's total.</FormDescription>
                  )}
                  <FormMessage />
                </FormItem>
              )}
            />
          )}
          {kind === "vendor_bank_change" && (
            <fieldset className="grid gap-3">
              <legend className="mb-1 text-sm font-medium">
                New bank account{amend ? " (leave empty to keep the one requested)" : ""}
              </legend>
              <FormField
                control={form.control}
                name="iban"
                render={({ field }) => (
                  <FormItem>
                    <FormLabel>IBAN</FormLabel>
                    <FormControl>
                      <Input {...field} autoComplete="off" spellCheck={false} autoFocus className="font-mono" data-testid="request-iban" />
                    </FormControl>
                    <FormMessage />
                  </FormItem>
                )}
              />
              <div className="grid grid-cols-2 gap-3">
                <FormField
                  control={form.control}
                  name="bank_name"
                  render={({ field }) => (
                    <FormItem>
                      <FormLabel>Bank</FormLabel>
                      <FormControl>
                        <Input {...field} autoComplete="off" data-testid="request-bank-name" />
                      </FormControl>
                      <FormMessage />
                    </FormItem>
                  )}
                />
                <FormField
                  control={form.control}
                  name="account_holder"
                  render={({ field }) => (
                    <FormItem>
                      <FormLabel>Account holder</FormLabel>
                      <FormControl>
                        <Input {...field} autoComplete="off" data-testid="request-account-holder" />
                      </FormControl>
                      <FormMessage />
                    </FormItem>
                  )}
                />
              </div>
            </fieldset>
          )}
          <FormField
            control={form.control}
            name="reason"
            render={({ field }) => (
              <FormItem>
                <FormLabel>Reason</FormLabel>
                <FormControl>
                  <Textarea
                    {...field}
                    autoFocus={!hasAmount && kind !== "vendor_bank_change"}
                    rows={3}
                    placeholder="e.g. Ticket 4821: duplicate charge on the March invoice"
                    className="min-h-20 resize-none"
                    data-testid="request-reason"
                  />
                </FormControl>
                <div className="flex items-start justify-between gap-4">
                  <FormDescription>Approvers read this before they decide.</FormDescription>
                  <span
                    aria-live="polite"
                    className={cn(
                      "tabular shrink-0 text-xs",
                      count >= MIN_REASON ? "text-emerald-700 dark:text-emerald-400" : "text-muted-foreground",
                    )}
                  >
                    {count} / {MIN_REASON} minimum
                  </span>
                </div>
                <FormMessage />
              </FormItem>
            )}
          />
          {refusal !== null && (
            <div
              role="alert"
              data-testid="request-refusal"
              className="border-destructive/30 bg-destructive/5 text-destructive flex gap-2 rounded-md border px-3 py-2 text-sm"
            >
              <TriangleAlertIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
              <span>
                {refusalWords(refusal)}
                {errorCode(refusal) === "stale_version" && " Close this form and open the request again to see the change."}
              </span>
            </div>
          )}
          <DialogFooter>
            <DialogClose asChild>
              <Button type="button" variant="outline">
                Cancel
              </Button>
            </DialogClose>
            <Button
              type="submit"
              disabled={submitting || offline}
              title={offline ? OFFLINE_ACTION_REASON : undefined}
              data-testid="request-submit"
            >
              {submitting && <Spinner />}
              {amend ? "Save changes" : "Send for approval"}
            </Button>
          </DialogFooter>
        </form>
      </Form>
    </DialogContent>
  );
}
