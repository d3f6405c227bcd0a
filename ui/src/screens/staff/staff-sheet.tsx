import { useState } from "react";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { CircleSlashIcon, HourglassIcon, PowerIcon, ShieldOffIcon, UserCheckIcon } from "lucide-react";
import { toast } from "sonner";
import { staffDeactivate, staffReactivate, staffUpdate } from "@/bindings/commands";
import type { AccountView, Scope, StaffMember } from "@/bindings/types";
import { Badge } from "@/components/ui/badge";
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
import { Form } from "@/components/ui/form";
import { Label } from "@/components/ui/label";
import { Sheet, SheetContent, SheetDescription, SheetHeader, SheetTitle } from "@/components/ui/sheet";
import { Spinner } from "@/components/ui/spinner";
import { Textarea } from "@/components/ui/textarea";
import { RelativeTime } from "@/components/relative-time";
import { refusalWords } from "@/lib/errors";
import { formatDateTime } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";
import { cn } from "@/lib/utils";
import { Field } from "@/screens/customers/record-sheet";
import { AccessFields, accessOf, accessSchema, accessValuesOf } from "./access-fields";
import { useProviderName } from "./providers";

/** The signed-in person's own account? (The server compares by person; this is the account.) */
export function isSelf(account: AccountView | null, m: StaffMember): boolean {
  return !!account && account.issuer === m.issuer && account.subject === m.subject;
}

export function scopeWords(s: Scope): string {
  if (s.all_orgs) return "All customers";
  const parts = [...s.regions, ...(s.org_ids.length ? [`${s.org_ids.length} customer${s.org_ids.length === 1 ? "" : "s"}`] : [])];
  return parts.length ? parts.join(", ") : "No customer";
}

const schema = z.object({ access: accessSchema });
type Values = z.infer<typeof schema>;

/**
 * One account: identity, access (editable by a security admin, never their own), deactivate /
 * reactivate. `pending`: the account waits for access (created by a first sign-in, no role):
 * saving grants it.
 */
export function StaffSheet({
  member,
  pending = false,
  onClose,
}: {
  member: StaffMember | null;
  pending?: boolean;
  onClose: () => void;
}) {
  return (
    <Sheet open={!!member} onOpenChange={(open) => !open && onClose()}>
      <SheetContent className="w-full gap-0 sm:max-w-lg" data-testid="staff-detail">
        {member && <Body key={`${member.id}:${member.permission_epoch}`} member={member} pending={pending} />}
      </SheetContent>
    </Sheet>
  );
}

function Body({ member: m, pending }: { member: StaffMember; pending: boolean }) {
  const { account, can } = useAccount();
  const { offline } = useSyncState();
  const queryClient = useQueryClient();
  const provider = useProviderName(m.issuer);
  const self = isSelf(account, m);
  const editable = can("staff:manage") && !self && m.active;
  const waiting = pending && m.active;
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: { access: accessValuesOf(m) } });
  const [deactivating, setDeactivating] = useState(false);

  const save = useMutation({
    mutationFn: (v: Values) => staffUpdate(m.id, { ...accessOf(v.access, m.scope.org_ids), active: m.active }),
    onSuccess: (next) => {
      void queryClient.invalidateQueries({ queryKey: ["staff_list"] });
      if (waiting) {
        toast.success(`Access granted: ${next.display_name}`, {
          description: "They can sign in now; tell them to choose Try again in their app.",
        });
      } else {
        toast.success(`Saved: ${next.display_name}`, {
          description: "It takes effect on their next request; their app purges what they may no longer see.",
        });
      }
    },
    onError: (error) =>
      toast.error(waiting ? "Access was not granted" : "Nothing was changed", { description: refusalWords(error) }),
  });
  const submit = form.handleSubmit((v) => {
    // Granting means a role: an account let in with none could do nothing. Refusing is Deactivate.
    if (waiting && v.access.roles.length === 0) {
      form.setError("access.roles", { message: "Choose at least one role to grant. To refuse access, deactivate the account." });
      return;
    }
    save.mutate(v);
  });
  const reactivate = useMutation({
    mutationFn: () => staffReactivate(m.id),
    onSuccess: (next) => {
      void queryClient.invalidateQueries({ queryKey: ["staff_list"] });
      toast.success(`Reactivated: ${next.display_name}`, { description: "They can sign in again." });
    },
    onError: (error) => toast.error("The account was not reactivated", { description: refusalWords(error) }),
  });

  return (
    <>
      <SheetHeader className="border-b pr-12">
        <div className="flex items-center gap-2">
          <SheetTitle className="text-base">{m.display_name}</SheetTitle>
          {waiting ? (
            <Badge variant="amber">Waiting for access</Badge>
          ) : m.active ? (
            <Badge variant="green">Active</Badge>
          ) : (
            <Badge variant="red">Deactivated</Badge>
          )}
          {self && <Badge variant="outline">You</Badge>}
        </div>
        <SheetDescription>{m.email}</SheetDescription>
      </SheetHeader>
      <Form {...form}>
        <form className="flex min-h-0 flex-1 flex-col" onSubmit={submit} noValidate aria-label={`Access of ${m.display_name}`}>
          <div className="flex-1 overflow-auto px-4">
            {!m.active && (
              <div role="note" className="bg-destructive/5 border-destructive/30 text-destructive mt-3 rounded-md border px-3 py-2 text-sm" data-testid="deactivated-note">
                <p className="font-medium">
                  Deactivated {m.deactivated_at ? formatDateTime(m.deactivated_at) : ""}
                </p>
                {m.deactivation_reason && <p className="mt-0.5">“{m.deactivation_reason}”</p>}
              </div>
            )}
            {self && (
              <p role="note" className="bg-muted/60 mt-3 flex gap-2 rounded-md px-3 py-2 text-sm" data-testid="self-note">
                <CircleSlashIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
                Nobody changes their own roles, scope or limits: another security admin has to.
              </p>
            )}
            {waiting && (
              <div role="note" className="mt-3 flex gap-2 rounded-md border border-amber-300/70 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-400/30 dark:bg-amber-400/10 dark:text-amber-200" data-testid="pending-note">
                <HourglassIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
                <p>
                  They signed in for the first time{provider ? ` with ${provider}` : ""} and wait for access. Check
                  who this is, then choose their roles and customer scope and grant access. To refuse, deactivate
                  the account.
                </p>
              </div>
            )}
            <dl className="py-2">
              <Field label="Sign-in provider">
                {provider && <span className="block">{provider}</span>}
                <span className={cn("block font-mono text-xs break-all", provider && "text-muted-foreground")}>{m.issuer}</span>
              </Field>
              <Field label="Subject">
                <span className="font-mono text-xs break-all" data-testid="staff-subject">
                  {m.subject}
                </span>
              </Field>
              <Field label="Last activity">
                {m.last_active_at ? <RelativeTime value={m.last_active_at} /> : <span className="text-muted-foreground">Never</span>}
              </Field>
            </dl>
            <AccessFields disabled={!editable} keptOrgIds={m.scope.org_ids.length} />
          </div>
          {can("staff:manage") && !self && (
            <div className="flex flex-wrap items-center gap-2 border-t px-4 py-3">
              {m.active ? (
                <>
                  <Button type="submit" disabled={save.isPending || offline || !form.formState.isDirty} title={offline ? OFFLINE_ACTION_REASON : undefined} data-testid="staff-save">
                    {save.isPending ? <Spinner /> : waiting && <UserCheckIcon aria-hidden="true" />}
                    {waiting ? "Grant access" : "Save access"}
                  </Button>
                  <Button
                    type="button"
                    variant="outline"
                    className="text-destructive ml-auto"
                    disabled={offline}
                    onClick={() => setDeactivating(true)}
                    data-testid="deactivate"
                  >
                    <ShieldOffIcon aria-hidden="true" />
                    Deactivate…
                  </Button>
                </>
              ) : (
                <Button
                  type="button"
                  variant="outline"
                  disabled={reactivate.isPending || offline}
                  onClick={() => reactivate.mutate()}
                  data-testid="reactivate"
                >
                  {reactivate.isPending ? <Spinner /> : <PowerIcon aria-hidden="true" />}
                  Reactivate
                </Button>
              )}
            </div>
          )}
        </form>
      </Form>
      <DeactivateDialog member={m} open={deactivating} onClose={() => setDeactivating(false)} />
    </>
  );
}

const reasonSchema = z.object({
  reason: z.string().refine((s) => s.trim().length >= 10, {
    message: "Write at least 10 characters: what happened (the incident or ticket).",
  }),
});

/** Incident response: the reason is required and audited; what happens is said before it does. */
function DeactivateDialog({ member: m, open, onClose }: { member: StaffMember; open: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const form = useForm<{ reason: string }>({ resolver: zodResolver(reasonSchema), defaultValues: { reason: "" } });
  const deactivate = useMutation({
    mutationFn: (reason: string) => staffDeactivate(m.id, reason.trim()),
    onSuccess: (next) => {
      void queryClient.invalidateQueries({ queryKey: ["staff_list"] });
      toast.success(`Deactivated: ${next.display_name}`, {
        description: "Their next request is refused; their support sessions ended and their pending requests were cancelled.",
      });
      onClose();
    },
    onError: (error) => form.setError("reason", { message: refusalWords(error) }),
  });
  return (
    <Dialog open={open} onOpenChange={(o) => !o && !deactivate.isPending && onClose()}>
      <DialogContent className="sm:max-w-lg" data-testid="deactivate-dialog">
        <DialogHeader>
          <DialogTitle>Deactivate {m.display_name}?</DialogTitle>
          <DialogDescription>
            From their next request their sign-in is refused, their active support sessions end and every
            request they are waiting on is cancelled. You can reactivate the account later; what was ended
            stays ended.
          </DialogDescription>
        </DialogHeader>
        <form onSubmit={form.handleSubmit((v) => deactivate.mutate(v.reason))} noValidate className="grid gap-3">
          <Label htmlFor="deactivate-reason">Reason</Label>
          <Textarea
            id="deactivate-reason"
            {...form.register("reason")}
            rows={3}
            autoFocus
            placeholder="e.g. INC-2291: laptop reported stolen"
            aria-invalid={!!form.formState.errors.reason}
            data-testid="deactivate-reason"
          />
          {form.formState.errors.reason && (
            <p role="alert" className="text-destructive text-sm">
              {form.formState.errors.reason.message}
            </p>
          )}
          <DialogFooter>
            <DialogClose asChild>
              <Button type="button" variant="outline" disabled={deactivate.isPending}>
                Keep active
              </Button>
            </DialogClose>
            <Button type="submit" variant="destructive" disabled={deactivate.isPending} data-testid="deactivate-confirm">
              {deactivate.isPending && <Spinner />}
              Deactivate {m.display_name}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
