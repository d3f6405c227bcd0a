import { useState } from "react";
import { useForm, type FieldPath } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation } from "@tanstack/react-query";
import { z } from "zod";
import { TriangleAlertIcon, UserPlusIcon } from "lucide-react";
import { staffCreate } from "@/bindings/commands";
import type { StaffMember } from "@/bindings/types";
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
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { Spinner } from "@/components/ui/spinner";
import { errorCode, errorWords, invalidField, refusalWords } from "@/lib/errors";
import { useAccount } from "@/lib/permissions";
import { OFFLINE_ACTION_REASON, useSyncState } from "@/lib/sync-state";
import { APPROVAL_KINDS } from "@/screens/approvals/search";
import { AccessFields, LIMIT_CURRENCY, accessOf, accessSchema, accessValuesOf } from "./access-fields";
import { useProviders } from "./providers";

// The server's rules for a new account (staff_admin::rules::new_account), checked here first so
// that a mistake is said next to its field.
const SUBJECT_MAX = 255;
const NAME_MAX = 200;
const EMAIL_MAX = 320;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const schema = z.object({
  issuer: z.string().min(1, "Choose the identity provider they sign in with."),
  subject: z
    .string()
    .superRefine((raw, ctx) => {
      const s = raw.trim();
      const say = (message: string) => ctx.addIssue({ code: "custom", message });
      if (!s) say("Enter their user id at this provider.");
      else if (s.length > SUBJECT_MAX) say(`At most ${SUBJECT_MAX} characters: a provider's user id is never longer.`);
      else if (CONTROL.test(s)) say("A user id has no line breaks or tabs. Copy it again from the provider.");
    }),
  display_name: z.string().superRefine((raw, ctx) => {
    const s = raw.trim();
    if (!s) ctx.addIssue({ code: "custom", message: "Enter their name, as colleagues will see it." });
    else if (s.length > NAME_MAX || CONTROL.test(s)) {
      ctx.addIssue({ code: "custom", message: `A name of at most ${NAME_MAX} characters, on one line.` });
    }
  }),
  email: z.string().superRefine((raw, ctx) => {
    const s = raw.trim();
    if (!s) ctx.addIssue({ code: "custom", message: "Enter their work e-mail address." });
    else if (s.length > EMAIL_MAX || !/^[^\s@]+@[^\s@]+$/.test(s)) {
      ctx.addIssue({ code: "custom", message: "An e-mail address like name@example.com." });
    }
  }),
  access: accessSchema.extend({
    roles: z.array(z.string()).min(1, "Choose at least one role: an account without a role can do nothing."),
  }),
});
type Values = z.infer<typeof schema>;

/** The words next to a field the server refused (its detail names the field, in its own terms). */
const SERVER_FIELD: Record<string, [FieldPath<Values>, string]> = {
  issuer: ["issuer", "The server does not trust this provider (any more). Choose another, or ask your IT team."],
  subject: ["subject", "The server does not accept this user id: it must be exactly as the provider sends it."],
  display_name: ["display_name", `A name of at most ${NAME_MAX} characters, on one line.`],
  email: ["email", "The server does not accept this address. Give one like name@example.com."],
  roles: ["access.roles", "The server does not accept these roles. Choose them again."],
  ...Object.fromEntries(
    APPROVAL_KINDS.map((k) => [
      `approval_limits.${k}`,
      [`access.limits.${k}`, `An amount in ${LIMIT_CURRENCY} of zero or more, or empty for no limit.`],
    ]),
  ),
};

/**
 * Onboarding (security admin): a staff account for a person at one of the server's identity
 * providers, with roles, customer scope and approval limits, before they first sign in.
 */
export function AddStaffDialog({
  open,
  onClose,
  onAdded,
}: {
  open: boolean;
  onClose: () => void;
  onAdded: (member: StaffMember) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={(o) => !o && onClose()}>
      {open && <AddStaffBody onAdded={onAdded} />}
    </Dialog>
  );
}

function AddStaffBody({ onAdded }: { onAdded: (member: StaffMember) => void }) {
  const providers = useProviders();
  const { account } = useAccount();
  const { offline } = useSyncState();
  const [refusal, setRefusal] = useState<unknown>(null);
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: {
      issuer: providers[0]?.issuer ?? "",
      subject: "",
      display_name: "",
      email: "",
      access: accessValuesOf(null),
    },
  });
  const create = useMutation({
    mutationFn: (v: Values) =>
      staffCreate({
        issuer: v.issuer,
        subject: v.subject.trim(),
        display_name: v.display_name.trim(),
        email: v.email.trim(),
        ...accessOf(v.access, []),
      }),
    onSuccess: onAdded,
    onError: (e) => {
      const field = invalidField(e);
      const known = field ? SERVER_FIELD[field] : undefined;
      if (errorCode(e) === "staff_exists") {
        form.setError("subject", { message: errorWords(e) }, { shouldFocus: true });
      } else if (known) {
        form.setError(known[0], { message: known[1] }, { shouldFocus: true });
      } else {
        setRefusal(e);
      }
    },
  });
  const submit = form.handleSubmit((v) => {
    setRefusal(null);
    // As the server: nobody gives themselves an account (and so access).
    if (account && account.issuer === v.issuer && account.subject === v.subject.trim()) {
      form.setError(
        "subject",
        { message: "That is you. Nobody creates their own staff account: another security admin has to." },
        { shouldFocus: true },
      );
      return;
    }
    create.mutate(v);
  });
  const issuer = form.watch("issuer");
  const busy = create.isPending;

  return (
    <DialogContent
      className="flex max-h-[calc(100dvh-2rem)] flex-col gap-0 p-0 sm:max-w-xl"
      data-testid="add-staff-dialog"
      onInteractOutside={(e) => e.preventDefault()}
    >
      <DialogHeader className="border-b px-6 pt-6 pb-4">
        <DialogTitle className="flex items-center gap-2">
          <UserPlusIcon className="size-4" aria-hidden="true" />
          Add staff member
        </DialogTitle>
        <DialogDescription>
          They can sign in as soon as it is saved, with the access you give here. The change is audited.
        </DialogDescription>
      </DialogHeader>
      <Form {...form}>
        <form onSubmit={submit} noValidate className="flex min-h-0 flex-1 flex-col" aria-label="New staff member">
          {/* The fields scroll; the header and the buttons stay. */}
          <div className="grid min-h-0 flex-1 gap-4 overflow-y-auto px-6 pt-4" data-testid="add-staff-fields">
            <FormField
              control={form.control}
              name="issuer"
              render={({ field }) => (
                <FormItem>
                  <FormLabel>Identity provider</FormLabel>
                  <Select value={field.value} onValueChange={field.onChange} disabled={busy}>
                    <FormControl>
                      <SelectTrigger className="w-full" onBlur={field.onBlur} data-testid="add-staff-provider">
                        <SelectValue placeholder="Choose a provider">
                          {providers.find((p) => p.issuer === field.value)?.name}
                        </SelectValue>
                      </SelectTrigger>
                    </FormControl>
                    <SelectContent>
                      {providers.map((p) => (
                        <SelectItem key={p.issuer} value={p.issuer} textValue={p.name}>
                          <span className="flex min-w-0 flex-col items-start gap-0.5">
                            <span>{p.name}</span>
                            <span className="text-muted-foreground font-mono text-xs break-all">{p.issuer}</span>
                          </span>
                        </SelectItem>
                      ))}
                    </SelectContent>
                  </Select>
                  {issuer && (
                    <FormDescription className="font-mono text-xs break-all" data-testid="add-staff-issuer">
                      {issuer}
                    </FormDescription>
                  )}
                  <FormMessage />
                </FormItem>
              )}
            />
            <FormField
              control={form.control}
              name="subject"
              render={({ field }) => (
                <FormItem>
                  <FormLabel>Subject (user id at the provider)</FormLabel>
                  <FormControl>
                    <Input
                      {...field}
                      autoFocus
                      autoComplete="off"
                      spellCheck={false}
                      className="font-mono"
                      placeholder="e.g. 248289761001 or 9f1c2e7a-…"
                      data-testid="add-staff-subject"
                    />
                  </FormControl>
                  <FormDescription>
                    The provider's own id for this person (the <span className="font-mono">sub</span> of their
                    sign-in), as its admin console shows it — not their e-mail address or username.
                  </FormDescription>
                  <FormMessage />
                </FormItem>
              )}
            />
            <div className="grid gap-4 sm:grid-cols-2">
              <FormField
                control={form.control}
                name="display_name"
                render={({ field }) => (
                  <FormItem className="content-start">
                    <FormLabel>Display name</FormLabel>
                    <FormControl>
                      <Input {...field} autoComplete="off" placeholder="e.g. Priya Shah" data-testid="add-staff-name" />
                    </FormControl>
                    <FormMessage />
                  </FormItem>
                )}
              />
              <FormField
                control={form.control}
                name="email"
                render={({ field }) => (
                  <FormItem className="content-start">
                    <FormLabel>E-mail</FormLabel>
                    <FormControl>
                      <Input
                        {...field}
                        type="email"
                        autoComplete="off"
                        spellCheck={false}
                        placeholder="name@company.example"
                        data-testid="add-staff-email"
                      />
                    </FormControl>
                    <FormMessage />
                  </FormItem>
                )}
              />
            </div>
            <div>
              <AccessFields disabled={busy} />
            </div>
          </div>
          {refusal !== null && (
            <div
              role="alert"
              data-testid="add-staff-refusal"
              className="border-destructive/30 bg-destructive/5 text-destructive mx-6 mb-4 flex gap-2 rounded-md border px-3 py-2 text-sm"
            >
              <TriangleAlertIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
              <span>{refusalWords(refusal)}</span>
            </div>
          )}
          <DialogFooter className="border-t px-6 py-4">
            <DialogClose asChild>
              <Button type="button" variant="outline" disabled={busy}>
                Cancel
              </Button>
            </DialogClose>
            <Button
              type="submit"
              disabled={busy || offline}
              title={offline ? OFFLINE_ACTION_REASON : undefined}
              data-testid="add-staff-submit"
            >
              {busy ? <Spinner /> : <UserPlusIcon aria-hidden="true" />}
              Add staff member
            </Button>
          </DialogFooter>
        </form>
      </Form>
    </DialogContent>
  );
}
