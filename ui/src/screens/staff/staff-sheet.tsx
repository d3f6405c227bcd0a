import { useState } from "react";
import { Controller, useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { CircleSlashIcon, PowerIcon, ShieldOffIcon } from "lucide-react";
import { toast } from "sonner";
import { staffDeactivate, staffReactivate, staffUpdate } from "@/bindings/commands";
import type { AccountView, Money, Region, Scope, StaffMember, StaffRole } from "@/bindings/types";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import {
  Dialog,
  DialogClose,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Sheet, SheetContent, SheetDescription, SheetHeader, SheetTitle } from "@/components/ui/sheet";
import { Spinner } from "@/components/ui/spinner";
import { Textarea } from "@/components/ui/textarea";
import { approvalKindLabel } from "@/components/status-badge";
import { RelativeTime } from "@/components/relative-time";
import { refusalWords } from "@/lib/errors";
import { formatAmount, formatDateTime, humanize, parseAmount } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";
import { cn } from "@/lib/utils";
import { APPROVAL_KINDS } from "@/screens/approvals/search";
import { Field } from "@/screens/customers/record-sheet";

const ROLES: StaffRole[] = [
  "support_agent",
  "support_supervisor",
  "finance_clerk",
  "finance_approver",
  "finance_controller",
  "auditor",
  "security_admin",
];
const REGIONS: Region[] = ["EU", "US"];
/** The limits' currency: the server's base currency (demo: EUR), in which every limit compares. */
const LIMIT_CURRENCY = "EUR";

/** The signed-in person's own account? (The server compares by person; this is the account.) */
export function isSelf(account: AccountView | null, m: StaffMember): boolean {
  return !!account && account.issuer === m.issuer && account.subject === m.subject;
}

export function scopeWords(s: Scope): string {
  if (s.all_orgs) return "All customers";
  const parts = [...s.regions, ...(s.org_ids.length ? [`${s.org_ids.length} customer${s.org_ids.length === 1 ? "" : "s"}`] : [])];
  return parts.length ? parts.join(", ") : "No customer";
}

const schema = z.object({
  roles: z.array(z.string()),
  all_orgs: z.boolean(),
  regions: z.array(z.string()),
  limits: z.record(
    z.string(),
    z.string().refine((t) => t.trim() === "" || parseAmount(t, LIMIT_CURRENCY) !== null, {
      message: `An amount in ${LIMIT_CURRENCY}, or empty for no limit.`,
    }),
  ),
});
type Values = z.infer<typeof schema>;

const valuesOf = (m: StaffMember): Values => ({
  roles: m.roles,
  all_orgs: m.scope.all_orgs,
  regions: m.scope.regions,
  limits: Object.fromEntries(
    APPROVAL_KINDS.map((k) => {
      const l = m.approval_limits[k];
      return [k, l ? formatAmount(l).replace(/,/g, "") : ""];
    }),
  ),
});

/** One account: identity, access (editable by a security admin, never their own), deactivate / reactivate. */
export function StaffSheet({ member, onClose }: { member: StaffMember | null; onClose: () => void }) {
  return (
    <Sheet open={!!member} onOpenChange={(open) => !open && onClose()}>
      <SheetContent className="w-full gap-0 sm:max-w-lg" data-testid="staff-detail">
        {member && <Body key={`${member.id}:${member.permission_epoch}`} member={member} />}
      </SheetContent>
    </Sheet>
  );
}

function Body({ member: m }: { member: StaffMember }) {
  const { account, can } = useAccount();
  const { offline } = useSyncState();
  const queryClient = useQueryClient();
  const self = isSelf(account, m);
  const editable = can("staff:manage") && !self && m.active;
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: valuesOf(m) });
  const [deactivating, setDeactivating] = useState(false);

  const save = useMutation({
    mutationFn: (v: Values) =>
      staffUpdate(m.id, {
        roles: v.roles as StaffRole[],
        scope: { all_orgs: v.all_orgs, regions: v.regions as Region[], org_ids: m.scope.org_ids },
        approval_limits: Object.fromEntries(
          Object.entries(v.limits).map(([k, t]) => [
            k,
            t.trim() ? ({ amount_minor: parseAmount(t, LIMIT_CURRENCY)!, currency: LIMIT_CURRENCY } as Money) : null,
          ]),
        ),
        active: m.active,
      }),
    onSuccess: (next) => {
      void queryClient.invalidateQueries({ queryKey: ["staff_list"] });
      toast.success(`Saved: ${next.display_name}`, {
        description: "It takes effect on their next request; their app purges what they may no longer see.",
      });
    },
    onError: (error) => toast.error("Nothing was changed", { description: refusalWords(error) }),
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
          {m.active ? <Badge variant="green">Active</Badge> : <Badge variant="red">Deactivated</Badge>}
          {self && <Badge variant="outline">You</Badge>}
        </div>
        <SheetDescription>{m.email}</SheetDescription>
      </SheetHeader>
      <form
        className="flex min-h-0 flex-1 flex-col"
        onSubmit={form.handleSubmit((v) => save.mutate(v))}
        noValidate
        aria-label={`Access of ${m.display_name}`}
      >
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
          <dl className="py-2">
            <Field label="Identity">
              <span className="font-mono text-xs break-all">
                {m.subject} · {m.issuer}
              </span>
            </Field>
            <Field label="Last activity">
              {m.last_active_at ? <RelativeTime value={m.last_active_at} /> : <span className="text-muted-foreground">Never</span>}
            </Field>
          </dl>
          <fieldset className="border-t py-3" disabled={!editable}>
            <legend className="text-muted-foreground mb-2 pt-3 text-xs font-medium tracking-wide uppercase">Roles</legend>
            <div className="grid grid-cols-2 gap-2">
              <Controller
                control={form.control}
                name="roles"
                render={({ field }) => (
                  <>
                    {ROLES.map((r) => (
                      <Label key={r} className="font-normal">
                        <Checkbox
                          checked={field.value.includes(r)}
                          disabled={!editable}
                          onCheckedChange={(on) =>
                            field.onChange(on ? [...field.value, r] : field.value.filter((x) => x !== r))
                          }
                          data-testid={`role-${r}`}
                        />
                        {humanize(r)}
                      </Label>
                    ))}
                  </>
                )}
              />
            </div>
          </fieldset>
          <fieldset className="border-t py-3" disabled={!editable}>
            <legend className="text-muted-foreground mb-2 pt-3 text-xs font-medium tracking-wide uppercase">Customer scope</legend>
            <div className="flex flex-wrap gap-4">
              <Controller
                control={form.control}
                name="all_orgs"
                render={({ field }) => (
                  <Label className="font-normal">
                    <Checkbox checked={field.value} disabled={!editable} onCheckedChange={(on) => field.onChange(on === true)} />
                    All customers
                  </Label>
                )}
              />
              <Controller
                control={form.control}
                name="regions"
                render={({ field }) => (
                  <>
                    {REGIONS.map((r) => (
                      <Label key={r} className="font-normal">
                        <Checkbox
                          checked={field.value.includes(r)}
                          disabled={!editable || form.watch("all_orgs")}
                          onCheckedChange={(on) =>
                            field.onChange(on ? [...field.value, r] : field.value.filter((x) => x !== r))
                          }
                        />
                        Region {r}
                      </Label>
                    ))}
                  </>
                )}
              />
            </div>
            {m.scope.org_ids.length > 0 && (
              <p className="text-muted-foreground mt-2 text-xs">
                Plus {m.scope.org_ids.length} named customer{m.scope.org_ids.length === 1 ? "" : "s"} (kept as they are).
              </p>
            )}
          </fieldset>
          <fieldset className="border-t py-3" disabled={!editable}>
            <legend className="text-muted-foreground mb-2 pt-3 text-xs font-medium tracking-wide uppercase">
              Approval limits ({LIMIT_CURRENCY}, empty: no limit)
            </legend>
            <div className="grid grid-cols-[10rem_minmax(0,1fr)] items-center gap-x-3 gap-y-2">
              {APPROVAL_KINDS.map((k) => {
                const error = form.formState.errors.limits?.[k]?.message;
                return (
                  <div key={k} className="contents">
                    <Label htmlFor={`limit-${k}`} className="text-muted-foreground font-normal">
                      {approvalKindLabel(k)}
                    </Label>
                    <div>
                      <Input
                        id={`limit-${k}`}
                        {...form.register(`limits.${k}`)}
                        inputMode="decimal"
                        placeholder="No limit"
                        aria-invalid={!!error}
                        className={cn("tabular h-8", error && "border-destructive")}
                        data-testid={`limit-${k}`}
                      />
                      {error && <p className="text-destructive mt-1 text-xs">{error}</p>}
                    </div>
                  </div>
                );
              })}
            </div>
          </fieldset>
        </div>
        {can("staff:manage") && !self && (
          <div className="flex flex-wrap items-center gap-2 border-t px-4 py-3">
            {m.active ? (
              <>
                <Button type="submit" disabled={save.isPending || offline || !form.formState.isDirty} title={offline ? OFFLINE_ACTION_REASON : undefined} data-testid="staff-save">
                  {save.isPending && <Spinner />}
                  Save access
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
