import { useState } from "react";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { z } from "zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { delegatesList, delegationCreate, delegationRevoke, delegationsList } from "@/bindings/commands";
import type { Delegation } from "@/bindings/types";
import { ConfirmDestructive } from "@/components/confirm-destructive";
import { ErrorState } from "@/components/error-state";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Form, FormControl, FormField, FormItem, FormLabel, FormMessage } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";
import { Spinner } from "@/components/ui/spinner";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip";
import { refusalWords } from "@/lib/errors";
import { formatDate } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";

const DAY = 86_400_000;
/** The server's longest window (API: at most 31 days). */
const MAX_DAYS = 31;

/** `YYYY-MM-DD` of a local date (what `<input type="date">` holds). */
function isoDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
/** Local midnight at the start of a `YYYY-MM-DD` day. */
function dayStart(day: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y!, m! - 1, d!);
}

const schema = z
  .object({
    delegate_id: z.string().min(1, "Pick who decides for you."),
    from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "Give the first day."),
    to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "Give the last day."),
  })
  .superRefine((v, ctx) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v.from) || !/^\d{4}-\d{2}-\d{2}$/.test(v.to)) return;
    const from = dayStart(v.from).getTime();
    const to = dayStart(v.to).getTime();
    if (to < from) ctx.addIssue({ code: "custom", path: ["to"], message: "The last day is before the first." });
    else if (to < dayStart(isoDay(new Date())).getTime())
      ctx.addIssue({ code: "custom", path: ["to"], message: "The last day has passed." });
    else if ((to - from) / DAY + 1 > MAX_DAYS)
      ctx.addIssue({ code: "custom", path: ["to"], message: `At most ${MAX_DAYS} days.` });
  });
type Values = z.infer<typeof schema>;

const LIST_KEY = ["delegations_list"] as const;

type State = "active" | "scheduled" | "ended" | "revoked";
function stateOf(d: Delegation, now = Date.now()): State {
  if (d.revoked) return "revoked";
  if (Date.parse(d.ends_at) <= now) return "ended";
  return Date.parse(d.starts_at) > now ? "scheduled" : "active";
}
const STATE_WORDS: Record<State, string> = {
  active: "Active",
  scheduled: "Scheduled",
  ended: "Ended",
  revoked: "Revoked",
};

/** The last day shown is the day before the exclusive end (local midnight). */
function period(d: Delegation): string {
  return `${formatDate(d.starts_at)} – ${formatDate(new Date(Date.parse(d.ends_at) - 1))}`;
}

/**
 * Out of office (approvers): hand my approvals to another approver for some days, see who
 * hands theirs to me, revoke mine. The server checks everything again.
 */
export function OutOfOfficeCard() {
  const { account, can } = useAccount();
  if (!account || !can("approvals:decide")) return null;
  return (
    <Card data-testid="out-of-office">
      <CardHeader>
        <CardTitle>Out of office</CardTitle>
        <CardDescription>
          While you are away, another approver may decide requests on your behalf, within their own limits.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        <DelegateForm />
        <Delegations />
      </CardContent>
    </Card>
  );
}

function DelegateForm() {
  const queryClient = useQueryClient();
  const { offline } = useSyncState();
  const delegates = useQuery({ queryKey: ["delegates_list"], queryFn: delegatesList });
  const today = isoDay(new Date());
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: { delegate_id: "", from: today, to: today },
  });
  const create = useMutation({
    mutationFn: (v: Values) =>
      delegationCreate({
        delegate_id: v.delegate_id,
        starts_at: dayStart(v.from).toISOString(),
        // Through the whole last day.
        ends_at: new Date(dayStart(v.to).getTime() + DAY).toISOString(),
      }),
    onSuccess: (d) => {
      toast.success(`${d.delegate_name} decides for you from ${period(d)}.`);
      form.reset({ delegate_id: "", from: today, to: today });
      void queryClient.invalidateQueries({ queryKey: LIST_KEY });
    },
    onError: (e) => toast.error(refusalWords(e)),
  });

  if (delegates.isError) {
    return (
      <ErrorState
        error={delegates.error}
        title="Approvers to delegate to could not be loaded"
        onRetry={() => void delegates.refetch()}
      />
    );
  }
  return (
    <Form {...form}>
      <form
        onSubmit={form.handleSubmit((v) => create.mutate(v))}
        noValidate
        className="grid grid-cols-[minmax(0,1fr)_9.5rem_9.5rem] items-start gap-3"
        aria-label="Delegate your approvals"
      >
        <FormField
          control={form.control}
          name="delegate_id"
          render={({ field }) => (
            <FormItem>
              <FormLabel>Delegate</FormLabel>
              <Select value={field.value} onValueChange={field.onChange} disabled={delegates.isPending}>
                <FormControl>
                  <SelectTrigger className="w-full" data-testid="delegate-select">
                    <SelectValue placeholder={delegates.isPending ? "Loading approvers…" : "Pick an approver"} />
                  </SelectTrigger>
                </FormControl>
                <SelectContent>
                  {(delegates.data ?? []).map((d) => (
                    <SelectItem key={d.id} value={d.id}>
                      {d.name}
                    </SelectItem>
                  ))}
                </SelectContent>
              </Select>
              <FormMessage />
            </FormItem>
          )}
        />
        <FormField
          control={form.control}
          name="from"
          render={({ field }) => (
            <FormItem>
              <FormLabel>From</FormLabel>
              <FormControl>
                <Input type="date" {...field} data-testid="delegate-from" />
              </FormControl>
              <FormMessage />
            </FormItem>
          )}
        />
        <FormField
          control={form.control}
          name="to"
          render={({ field }) => (
            <FormItem>
              <FormLabel>To (last day)</FormLabel>
              <FormControl>
                <Input type="date" {...field} data-testid="delegate-to" />
              </FormControl>
              <FormMessage />
            </FormItem>
          )}
        />
        <div className="col-span-3 flex justify-end">
          <Tooltip>
            <TooltipTrigger asChild>
              {/* A disabled button gets no hover: the wrapper carries the reason. */}
              <span tabIndex={offline ? 0 : -1}>
                <Button type="submit" disabled={offline || create.isPending} data-testid="delegate-submit">
                  {create.isPending && <Spinner />}
                  Delegate
                </Button>
              </span>
            </TooltipTrigger>
            {offline && <TooltipContent>{OFFLINE_ACTION_REASON}</TooltipContent>}
          </Tooltip>
        </div>
      </form>
    </Form>
  );
}

function Delegations() {
  const list = useQuery({ queryKey: LIST_KEY, queryFn: delegationsList });
  const [revoking, setRevoking] = useState<Delegation | null>(null);
  const queryClient = useQueryClient();
  const { offline } = useSyncState();
  const revoke = useMutation({
    mutationFn: (d: Delegation) => delegationRevoke(d.id),
    onSuccess: (d) => {
      toast.success(`${d.delegate_name} no longer decides for you.`);
      setRevoking(null);
      void queryClient.invalidateQueries({ queryKey: LIST_KEY });
    },
    onError: (e) => {
      setRevoking(null);
      toast.error(refusalWords(e));
    },
  });

  if (list.isPending) return <Skeleton className="h-24 w-full" aria-label="Loading delegations" />;
  if (list.isError) {
    return <ErrorState error={list.error} title="Delegations could not be loaded" onRetry={() => void list.refetch()} />;
  }
  const given = list.data.filter((d) => d.mine);
  const toMe = list.data.filter((d) => !d.mine);
  return (
    <>
      <section aria-labelledby="delegations-given" className="grid gap-2">
        <h3 id="delegations-given" className="text-sm font-medium">
          Your delegations
        </h3>
        {given.length === 0 ? (
          <p className="text-muted-foreground text-sm" data-testid="delegations-given-empty">
            You have not delegated your approvals. Pick an approver and the days you are away above.
          </p>
        ) : (
          <Table data-testid="delegations-given">
            <TableHeader>
              <TableRow>
                <TableHead>Delegate</TableHead>
                <TableHead>Days</TableHead>
                <TableHead>Status</TableHead>
                <TableHead className="w-0">
                  <span className="sr-only">Actions</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {given.map((d) => {
                const st = stateOf(d);
                return (
                  <TableRow key={d.id}>
                    <TableCell>{d.delegate_name}</TableCell>
                    <TableCell>{period(d)}</TableCell>
                    <TableCell>
                      <Badge variant={st === "active" ? "default" : "secondary"}>{STATE_WORDS[st]}</Badge>
                    </TableCell>
                    <TableCell>
                      {(st === "active" || st === "scheduled") && (
                        <Button
                          variant="outline"
                          size="xs"
                          disabled={offline}
                          onClick={() => setRevoking(d)}
                          aria-label={`Revoke the delegation to ${d.delegate_name}`}
                        >
                          Revoke
                        </Button>
                      )}
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        )}
      </section>
      <section aria-labelledby="delegations-to-me" className="grid gap-2">
        <h3 id="delegations-to-me" className="text-sm font-medium">
          Delegated to you
        </h3>
        {toMe.length === 0 ? (
          <p className="text-muted-foreground text-sm" data-testid="delegations-to-me-empty">
            Nobody delegates their approvals to you.
          </p>
        ) : (
          <Table data-testid="delegations-to-me">
            <TableHeader>
              <TableRow>
                <TableHead>On behalf of</TableHead>
                <TableHead>Days</TableHead>
                <TableHead>Status</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {toMe.map((d) => {
                const st = stateOf(d);
                return (
                  <TableRow key={d.id}>
                    <TableCell>{d.delegator_name}</TableCell>
                    <TableCell>{period(d)}</TableCell>
                    <TableCell>
                      <Badge variant={st === "active" ? "default" : "secondary"}>{STATE_WORDS[st]}</Badge>
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        )}
      </section>
      <ConfirmDestructive
        open={!!revoking}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={`Revoke the delegation to ${revoking?.delegate_name ?? ""}?`}
        description={`From now on ${revoking?.delegate_name ?? "they"} can no longer decide requests on your behalf. Decisions already made stay.`}
        cancel="Keep it"
        action={`Revoke delegation to ${revoking?.delegate_name ?? ""}`}
        pending={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        testId="confirm-revoke-delegation"
      />
    </>
  );
}
