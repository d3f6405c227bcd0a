import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { z } from "zod";
import { HeadsetIcon, ShieldAlertIcon, ShieldCheckIcon, UserCogIcon } from "lucide-react";
import { toast } from "sonner";
import { useState } from "react";
import { supportStart } from "@/bindings/commands";
import type { CustomerUser, Org, SupportAccessReport } from "@/bindings/types";
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
import { Label } from "@/components/ui/label";
import { RadioGroup, RadioGroupItem } from "@/components/ui/radio-group";
import { Spinner } from "@/components/ui/spinner";
import { Textarea } from "@/components/ui/textarea";
import { errorCode, errorWords, refusalWords } from "@/lib/errors";
import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";
import { supportAccessQuery, supportStatusQuery } from "./queries";

// The server's rules (API.md "Impersonation", impersonate::http::create), checked here first
// so that a mistake is said next to its field.
const MIN_REASON = 10;
const MAX_REASON = 2000;
const MAX_TICKET = 100;

export const startSupportSchema = z.object({
  reason: z
    .string()
    .refine((s) => s.trim().length >= MIN_REASON, {
      message: `Write at least ${MIN_REASON} characters: what the customer needs.`,
    })
    .refine((s) => s.trim().length <= MAX_REASON, { message: `At most ${MAX_REASON} characters.` }),
  ticket_ref: z
    .string()
    .refine((s) => s.trim().length > 0, { message: "Enter the ticket this session is for." })
    .refine((s) => s.trim().length <= MAX_TICKET, { message: `At most ${MAX_TICKET} characters.` }),
  scope: z.enum(["read", "write"]),
  duration: z
    .string()
    .refine((s) => /^\d+$/.test(s.trim()) && Number(s) >= 1 && Number(s) <= 60, {
      message: "Between 1 and 60 minutes.",
    }),
});
type Values = z.infer<typeof startSupportSchema>;

/** An active grant of the org's customers, if any (consent mode). */
function grantInForce(report: SupportAccessReport | undefined, now = Date.now()) {
  return report?.grants.find(
    (g) => !g.revoked && Date.parse(g.starts_at) <= now && Date.parse(g.ends_at) > now,
  );
}

/**
 * "Start support session" for a customer user: reason, ticket, scope, duration. It explains
 * before anyone submits what the server will do: write scope or an org admin waits for a
 * supervisor; an org under consent needs a grant in force.
 */
export function StartSupportDialog({
  org,
  user,
  open,
  onOpenChange,
}: {
  org: Org;
  user: CustomerUser;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open && <Body org={org} user={user} onDone={() => onOpenChange(false)} />}
    </Dialog>
  );
}

function Body({ org, user, onDone }: { org: Org; user: CustomerUser; onDone: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const access = useQuery(supportAccessQuery(org.id));
  const [refusal, setRefusal] = useState<unknown>(null);
  const form = useForm<Values>({
    resolver: zodResolver(startSupportSchema),
    defaultValues: { reason: "", ticket_ref: "", scope: "read", duration: "15" },
    mode: "onSubmit",
    reValidateMode: "onChange",
  });
  const scope = form.watch("scope");
  const admin = user.role === "org_admin";
  const waits = scope === "write" || admin;
  const consent = org.support_access === "consent";
  const grant = grantInForce(access.data);

  const submit = form.handleSubmit(async (v) => {
    setRefusal(null);
    try {
      const started = await supportStart({
        subject_user_id: user.id,
        reason: v.reason.trim(),
        ticket_ref: v.ticket_ref.trim(),
        scope: v.scope,
        duration_minutes: Number(v.duration),
      });
      queryClient.setQueryData(supportStatusQuery.queryKey, started);
      onDone();
      if (started.session.status === "active") {
        toast.success(`Support session with ${user.name} started`, {
          description: `${started.session.scope === "write" ? "Write" : "Read"} access for ${started.session.duration_minutes} minutes.`,
        });
        void navigate({ to: "/support" });
      } else {
        toast.info("Waiting for a supervisor", {
          description: `Your session with ${user.name} starts when a supervisor approves it; its time starts then.`,
        });
      }
    } catch (e) {
      const code = errorCode(e);
      if (code === "reason_required") form.setError("reason", { message: errorWords(e) });
      else setRefusal(e);
    }
  });
  const count = form.watch("reason").trim().length;
  const submitting = form.formState.isSubmitting;

  return (
    <DialogContent className="sm:max-w-lg" data-testid="start-support-dialog" onInteractOutside={(e) => e.preventDefault()}>
      <DialogHeader>
        <DialogTitle className="flex items-center gap-2">
          <HeadsetIcon className="size-4" aria-hidden="true" />
          Start support session
        </DialogTitle>
        <DialogDescription>
          Act as {user.name} at {org.name}: you see what they see{waits ? " and can do what they can" : ""}. Every
          step is recorded and a supervisor reviews the session afterwards.
        </DialogDescription>
      </DialogHeader>
      <Form {...form}>
        <form onSubmit={submit} noValidate className="grid gap-4">
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
                    placeholder="e.g. Customer cannot find last month's invoice"
                    className="min-h-20 resize-none"
                    data-testid="support-reason"
                  />
                </FormControl>
                <div className="flex items-start justify-between gap-4">
                  <FormDescription>The customer can read this in their support-access log.</FormDescription>
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
          <div className="grid grid-cols-[minmax(0,1fr)_8rem] gap-3">
            <FormField
              control={form.control}
              name="ticket_ref"
              render={({ field }) => (
                <FormItem>
                  <FormLabel>Ticket</FormLabel>
                  <FormControl>
                    <Input {...field} autoComplete="off" placeholder="e.g. SUP-4711" data-testid="support-ticket" />
                  </FormControl>
                  <FormMessage />
                </FormItem>
              )}
            />
            <FormField
              control={form.control}
              name="duration"
              render={({ field }) => (
                <FormItem>
                  <FormLabel>Minutes</FormLabel>
                  <FormControl>
                    <Input
                      {...field}
                      type="number"
                      min={1}
                      max={60}
                      inputMode="numeric"
                      className="tabular"
                      data-testid="support-duration"
                    />
                  </FormControl>
                  <FormMessage />
                </FormItem>
              )}
            />
          </div>
          <FormField
            control={form.control}
            name="scope"
            render={({ field }) => (
              <FormItem>
                <FormLabel>Access</FormLabel>
                <FormControl>
                  <RadioGroup value={field.value} onValueChange={field.onChange} className="grid grid-cols-2 gap-2">
                    {(
                      [
                        ["read", "Read", "See what they see"],
                        ["write", "Write", "Also edit their profile, resend invoices"],
                      ] as const
                    ).map(([value, label, hint]) => (
                      <Label
                        key={value}
                        htmlFor={`support-scope-${value}`}
                        className="has-[[data-state=checked]]:border-primary has-[[data-state=checked]]:bg-accent/50 flex cursor-pointer items-start gap-2 rounded-md border p-3 font-normal"
                      >
                        <RadioGroupItem value={value} id={`support-scope-${value}`} data-testid={`support-scope-${value}`} />
                        <span className="grid gap-0.5">
                          <span className="font-medium">{label}</span>
                          <span className="text-muted-foreground text-xs">{hint}</span>
                        </span>
                      </Label>
                    ))}
                  </RadioGroup>
                </FormControl>
                <FormMessage />
              </FormItem>
            )}
          />
          <ul className="grid gap-2 text-sm" data-testid="support-explain">
            {!waits && (
              <Note icon={ShieldCheckIcon} tone="info" testId="support-starts-now">
                Read access starts at once and ends by itself when the minutes are up.
              </Note>
            )}
            {waits && (
              <Note icon={UserCogIcon} tone="info" testId="support-needs-approval">
                {admin && scope === "write"
                  ? `${user.name} is an org admin and you ask for write access: a supervisor must approve first.`
                  : admin
                    ? `${user.name} is an org admin: a supervisor must approve first.`
                    : "Write access needs a supervisor's approval first."}{" "}
                Your minutes start when it is approved.
              </Note>
            )}
            {consent &&
              (access.isPending ? (
                <Note icon={ShieldCheckIcon} tone="info">
                  Checking whether {org.name} has granted support access…
                </Note>
              ) : grant ? (
                <Note icon={ShieldCheckIcon} tone="ok" testId="support-grant">
                  {org.name} asks for consent, and has granted support access until {formatDateTime(grant.ends_at)}.
                </Note>
              ) : (
                <Note icon={ShieldAlertIcon} tone="warn" testId="support-no-grant">
                  {org.name} asks for consent and has no grant in force: the server will refuse the session. Ask the
                  customer's admin to grant support access first.
                </Note>
              ))}
          </ul>
          {refusal !== null && (
            <p role="alert" className="text-destructive text-sm" data-testid="support-refusal">
              {refusalWords(refusal)}
            </p>
          )}
          <DialogFooter>
            <DialogClose asChild>
              <Button type="button" variant="outline">
                Cancel
              </Button>
            </DialogClose>
            <Button type="submit" disabled={submitting} data-testid="support-start">
              {submitting && <Spinner />}
              {waits ? "Ask for approval" : "Start session"}
            </Button>
          </DialogFooter>
        </form>
      </Form>
    </DialogContent>
  );
}

function Note({
  icon: Icon,
  tone,
  children,
  testId,
}: {
  icon: typeof ShieldCheckIcon;
  tone: "info" | "ok" | "warn";
  children: React.ReactNode;
  testId?: string;
}) {
  return (
    <li
      data-testid={testId}
      className={cn(
        "flex gap-2 rounded-md border px-3 py-2",
        tone === "info" && "border-sky-300/60 bg-sky-50 text-sky-950 dark:border-sky-400/20 dark:bg-sky-400/10 dark:text-sky-100",
        tone === "ok" && "border-emerald-300/60 bg-emerald-50 text-emerald-950 dark:border-emerald-400/20 dark:bg-emerald-400/10 dark:text-emerald-100",
        tone === "warn" && "border-amber-300/60 bg-amber-50 text-amber-950 dark:border-amber-400/20 dark:bg-amber-400/10 dark:text-amber-100",
      )}
    >
      <Icon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
      <span>{children}</span>
    </li>
  );
}
