import { useEffect, useRef, useState } from "react";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { z } from "zod";
import { CheckIcon, CopyIcon, EyeIcon, LockIcon, ShieldAlertIcon, TriangleAlertIcon } from "lucide-react";
import { toast } from "sonner";
import { reveal } from "@/bindings/commands";
import type { Revealed } from "@/bindings/types";
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
import { Progress } from "@/components/ui/progress";
import { Spinner } from "@/components/ui/spinner";
import { Textarea } from "@/components/ui/textarea";
import type { RevealTarget } from "@/components/reveal-context";
import { errorCode, errorWords } from "@/lib/errors";
import { formatCountdown } from "@/lib/format";
import { cn } from "@/lib/utils";
import { CLIPBOARD_CLEAR_MS, copyRevealed } from "./clipboard";

export const MIN_REASON = 10;
export const SHOW_FOR_MS = 60_000;

const schema = z.object({
  reason: z
    .string()
    .refine((s) => s.trim().length >= MIN_REASON, {
      message: `Write at least ${MIN_REASON} characters: say why you need this value (e.g. the ticket number).`,
    }),
});
type Values = z.infer<typeof schema>;

/**
 * Reveal one masked field with a reason. The value lives in this component's state only —
 * never in the query cache, web storage, the URL or the console — and is forgotten when the
 * dialog closes or after 60 seconds.
 */
export function RevealDialog({
  target,
  onClose,
}: {
  target: RevealTarget | null;
  onClose: () => void;
}) {
  return (
    <Dialog open={target !== null} onOpenChange={(open) => !open && onClose()}>
      {target && (
        <RevealBody
          key={`${target.recordType}:${target.recordId}:${target.field}`}
          target={target}
          onClose={onClose}
        />
      )}
    </Dialog>
  );
}

function RevealBody({ target, onClose }: { target: RevealTarget; onClose: () => void }) {
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const [refusal, setRefusal] = useState<unknown>(null);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: { reason: "" },
    mode: "onSubmit",
    reValidateMode: "onChange",
  });
  const reason = form.watch("reason");
  const count = reason.trim().length;

  const submit = form.handleSubmit(async ({ reason }) => {
    setRefusal(null);
    try {
      const result = await reveal(target.recordType, target.recordId, target.field, reason.trim());
      // Closed while waiting: drop the value.
      if (mounted.current) setRevealed(result);
    } catch (e) {
      if (!mounted.current) return;
      if (errorCode(e) === "reason_required") {
        form.setError("reason", { message: errorWords(e) });
      } else {
        setRefusal(e);
      }
    }
  });

  return (
    <DialogContent
      className="sm:max-w-lg"
      data-testid="reveal-dialog"
      onInteractOutside={(e) => e.preventDefault()}
    >
      <DialogHeader>
        <DialogTitle className="flex items-center gap-2">
          <EyeIcon className="size-4" aria-hidden="true" />
          {revealed ? `${target.label} revealed` : `Reveal ${target.label.toLowerCase()}`}
        </DialogTitle>
        <DialogDescription>
          {target.label} of {target.subject}
        </DialogDescription>
      </DialogHeader>
      {revealed ? (
        <RevealedValue value={revealed.value} label={target.label} onExpire={onClose} />
      ) : (
        <Form {...form}>
          <form onSubmit={submit} noValidate className="grid gap-4">
            <div className="flex gap-2 rounded-md border border-amber-300/60 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-400/20 dark:bg-amber-400/10 dark:text-amber-200">
              <ShieldAlertIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
              <p>
                This reveal is audited: your name, the field and your reason are recorded. The
                value is shown for 60 seconds and never stored on this computer.
              </p>
            </div>
            <div className="text-muted-foreground flex items-center gap-2 font-mono text-sm">
              <LockIcon className="size-3.5" aria-hidden="true" />
              <span className="sr-only">Masked value: </span>
              {target.masked}
            </div>
            <FormField
              control={form.control}
              name="reason"
              render={({ field }) => (
                <FormItem>
                  <FormLabel>Reason</FormLabel>
                  <FormControl>
                    <Textarea
                      {...field}
                      autoFocus
                      rows={3}
                      placeholder="e.g. Ticket 4821: customer asked to confirm the e-mail on file"
                      data-testid="reveal-reason"
                      className="min-h-20 resize-none"
                    />
                  </FormControl>
                  <div className="flex items-start justify-between gap-4">
                    <FormDescription>Say why you need it; reviewers read this.</FormDescription>
                    <span
                      aria-live="polite"
                      data-testid="reveal-reason-count"
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
                className="border-destructive/30 bg-destructive/5 text-destructive flex gap-2 rounded-md border px-3 py-2 text-sm"
              >
                <TriangleAlertIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
                <span>{errorWords(refusal)}</span>
              </div>
            )}
            <DialogFooter>
              <DialogClose asChild>
                <Button type="button" variant="outline" data-testid="reveal-close">
                  Cancel
                </Button>
              </DialogClose>
              <Button type="submit" disabled={form.formState.isSubmitting} data-testid="reveal-submit">
                {form.formState.isSubmitting && <Spinner />}
                Reveal {target.label.toLowerCase()}
              </Button>
            </DialogFooter>
          </form>
        </Form>
      )}
    </DialogContent>
  );
}

function RevealedValue({
  value,
  label,
  onExpire,
}: {
  value: string;
  label: string;
  onExpire: () => void;
}) {
  const [deadline] = useState(() => Date.now() + SHOW_FOR_MS);
  const [left, setLeft] = useState(SHOW_FOR_MS);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    const tick = () => {
      const remaining = deadline - Date.now();
      setLeft(remaining);
      if (remaining <= 0) onExpire();
    };
    const id = window.setInterval(tick, 1000);
    return () => window.clearInterval(id);
  }, [deadline, onExpire]);

  const seconds = Math.max(0, left / 1000);
  return (
    <div className="grid gap-4">
      <div
        data-testid="revealed-value"
        aria-label={`${label}, revealed`}
        className="bg-muted/60 rounded-md border px-4 py-3 font-mono text-lg break-all select-all"
      >
        {value}
      </div>
      <Progress
        value={(seconds * 1000 * 100) / SHOW_FOR_MS}
        aria-label="Time until the value hides"
        className="h-1"
      />
      <div className="text-muted-foreground -mt-2 flex items-center justify-between text-xs">
        <span>
          Hides in{" "}
          <span
            className={cn("tabular font-medium", seconds <= 10 ? "text-destructive" : "text-foreground")}
            data-testid="reveal-countdown"
          >
            {formatCountdown(seconds)}
          </span>
        </span>
        {copied && <span>Copied. The clipboard is cleared in {CLIPBOARD_CLEAR_MS / 1000} s.</span>}
      </div>
      <DialogFooter>
        <Button
          type="button"
          variant="outline"
          onClick={async () => {
            try {
              await copyRevealed(value);
              setCopied(true);
            } catch {
              toast.error("Could not copy", {
                description: "The clipboard is not available. Select the value and copy it by hand.",
              });
            }
          }}
          data-testid="reveal-copy"
        >
          {copied ? <CheckIcon aria-hidden="true" /> : <CopyIcon aria-hidden="true" />}
          {copied ? "Copied" : "Copy"}
        </Button>
        <DialogClose asChild>
          <Button type="button" data-testid="reveal-close">
            Done
          </Button>
        </DialogClose>
      </DialogFooter>
    </div>
  );
}
