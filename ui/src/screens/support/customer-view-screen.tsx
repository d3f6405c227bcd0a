import { useCallback, useEffect, useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import type { ColumnDef, SortingState } from "@tanstack/react-table";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { z } from "zod";
import { EyeIcon, HeadsetIcon, PencilIcon, SendIcon } from "lucide-react";
import { toast } from "sonner";
import { customerResendInvoice, customerUpdateUser } from "@/bindings/commands";
import type { CustomerUser, Invoice, SupportView } from "@/bindings/types";
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
import { Form, FormControl, FormField, FormItem, FormLabel, FormMessage } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { Spinner } from "@/components/ui/spinner";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { DataTable } from "@/components/data-table";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { FilterInput } from "@/components/filter-input";
import { errorCode, refusalWords } from "@/lib/errors";
import { formatCount } from "@/lib/format";
import { useDocumentTitle } from "@/lib/title";
import { TableSkeleton } from "@/screens/customers/customers-screen";
import { invoiceColumns, invoiceText, userColumns, userText } from "@/screens/customers/record-columns";
import { customerInvoicesQuery, customerUsersQuery, supportStatusQuery, useSupport } from "./queries";

type Tab = "users" | "invoices";

/**
 * Inside a support session: what the subject sees in their org, answered by the server through
 * the session (not the local cache), and under write scope the two customer actions. Reveals,
 * approvals and staff screens are out of reach while here; the banner says whose view it is.
 */
export function CustomerViewScreen() {
  const { support, active } = useSupport();
  useDocumentTitle(support ? `${support.subject_name}'s view` : "Customer view");
  if (!support || !active) {
    return (
      <EmptyState icon={HeadsetIcon} title="You are not in a support session" className="py-24">
        {support
          ? "Your session waits for a supervisor's approval; the customer's view opens when it starts."
          : "Start one from a customer user's page: Customers, then the user, then Start support session."}
        <div className="mt-3">
          <Button asChild variant="outline" size="sm">
            <Link to="/customers">Go to Customers</Link>
          </Button>
        </div>
      </EmptyState>
    );
  }
  return <View v={support} />;
}

function View({ v }: { v: SupportView }) {
  const [tab, setTab] = useState<Tab>("users");
  const write = v.session.scope === "write";
  return (
    <div className="flex h-full min-h-0 flex-col gap-4 p-6">
      <header className="flex items-start justify-between gap-4">
        <div>
          <h1 className="text-lg font-semibold tracking-tight">
            {v.org_name}, as {v.subject_name} sees it
          </h1>
          <p className="text-muted-foreground text-sm">
            Ticket <span className="font-mono">{v.session.ticket_ref}</span> · {v.session.reason}
          </p>
        </div>
        <p
          className="text-muted-foreground flex shrink-0 items-center gap-1.5 text-xs"
          data-testid="customer-view-scope"
        >
          {write ? <PencilIcon className="size-3.5" aria-hidden="true" /> : <EyeIcon className="size-3.5" aria-hidden="true" />}
          {write ? "Write access: you can edit profiles and resend invoices" : "Read access: you can look, not change"}
        </p>
      </header>
      <Tabs value={tab} onValueChange={(t) => setTab(t as Tab)} className="flex min-h-0 flex-1 flex-col">
        <TabsList>
          <TabsTrigger value="users" data-testid="customer-tab-users">
            Users
          </TabsTrigger>
          <TabsTrigger value="invoices" data-testid="customer-tab-invoices">
            Invoices
          </TabsTrigger>
        </TabsList>
        <TabsContent value="users" className="flex min-h-0 flex-1 flex-col">
          {tab === "users" && <UsersTab v={v} write={write} />}
        </TabsContent>
        <TabsContent value="invoices" className="flex min-h-0 flex-1 flex-col">
          {tab === "invoices" && <InvoicesTab v={v} write={write} />}
        </TabsContent>
      </Tabs>
    </div>
  );
}

/** A session-ending refusal (expired) is the banner's to explain; the rest is said here. */
function useSessionEnd() {
  const queryClient = useQueryClient();
  return useCallback(
    (e: unknown) => {
      const code = errorCode(e);
      if (code === "impersonation_expired" || code === "impersonation_not_active" || code === "no_support_session") {
        void queryClient.invalidateQueries({ queryKey: supportStatusQuery.queryKey });
        return true;
      }
      return false;
    },
    [queryClient],
  );
}

/** A read that failed because the session is over hands over to the banner. */
function useEndedBy(error: unknown) {
  const ended = useSessionEnd();
  useEffect(() => {
    if (error) ended(error);
  }, [error, ended]);
}

function Table<T extends { id: string }>({
  label,
  noun,
  rows,
  columns,
  text,
  defaultSort,
}: {
  label: string;
  noun: string;
  rows: ReturnType<typeof useQuery<T[]>>;
  columns: ColumnDef<T, any>[];
  text: (row: T) => string;
  defaultSort: string;
}) {
  const [filter, setFilter] = useState("");
  const [sorting, setSorting] = useState<SortingState>([{ id: defaultSort, desc: false }]);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  if (rows.isPending) return <TableSkeleton />;
  if (rows.isError) return <ErrorState error={rows.error} onRetry={() => void rows.refetch()} />;
  if (rows.data.length === 0) {
    return <EmptyState title={`No ${noun}`}>This customer sees no {noun}.</EmptyState>;
  }
  return (
    <div className="flex min-h-0 flex-1 flex-col gap-3 pt-3">
      <div className="flex items-center gap-3">
        <FilterInput value={filter} onValueChange={setFilter} placeholder={`Filter ${noun}`} aria-label={`Filter ${noun}`} />
        <span className="text-muted-foreground tabular text-xs">
          {formatCount(rows.data.length)} {noun}
        </span>
      </div>
      <DataTable
        data={rows.data}
        columns={columns}
        getRowId={(r) => r.id}
        filterText={text}
        filter={filter}
        sorting={sorting}
        onSortingChange={setSorting}
        selectedId={selectedId}
        onSelectedIdChange={setSelectedId}
        onOpen={() => {}}
        label={label}
        keyboard
        noMatches={
          <EmptyState title={`No ${noun} match`} className="py-8">
            Nothing matches “{filter}”.
          </EmptyState>
        }
      />
    </div>
  );
}

function UsersTab({ v, write }: { v: SupportView; write: boolean }) {
  const rows = useQuery(customerUsersQuery(v.session.id));
  const [editing, setEditing] = useState<CustomerUser | null>(null);
  useEndedBy(rows.error);
  // What the subject may change (records::customer): their own profile, or anyone's as the org's admin.
  const subject = v.session.subject_user_id;
  const admin = rows.data?.find((u) => u.id === subject)?.role === "org_admin";
  const columns = useMemo(() => {
    const base = userColumns({ name: v.org_name }) as ColumnDef<CustomerUser, any>[];
    if (!write) return base;
    return [
      ...base,
      {
        id: "actions",
        header: () => <span className="sr-only">Actions</span>,
        meta: { width: "96px", align: "right" },
        enableSorting: false,
        cell: ({ row }) =>
          (admin || row.original.id === subject) && (
          <Button
            size="sm"
            variant="ghost"
            onClick={() => setEditing(row.original)}
            data-testid="customer-edit-user"
            aria-label={`Edit ${row.original.name}`}
          >
            <PencilIcon aria-hidden="true" />
            Edit
          </Button>
          ),
      } satisfies ColumnDef<CustomerUser, unknown>,
    ];
  }, [v.org_name, write, admin, subject]);
  return (
    <>
      <Table
        label={`Users ${v.subject_name} sees`}
        noun="users"
        rows={rows}
        columns={columns}
        text={userText}
        defaultSort="name"
      />
      <EditUserDialog user={editing} onClose={() => setEditing(null)} sessionId={v.session.id} />
    </>
  );
}

function InvoicesTab({ v, write }: { v: SupportView; write: boolean }) {
  const rows = useQuery(customerInvoicesQuery(v.session.id));
  const ended = useSessionEnd();
  useEndedBy(rows.error);
  const resend = useMutation({
    mutationFn: (i: Invoice) => customerResendInvoice(i.id),
    onSuccess: (_, i) => toast.success(`Invoice ${i.number} sent to the customer again`),
    onError: (e) => {
      if (!ended(e)) toast.error("The invoice was not sent", { description: refusalWords(e) });
    },
  });
  const columns = useMemo(() => {
    const base = invoiceColumns() as ColumnDef<Invoice, any>[];
    if (!write) return base;
    return [
      ...base,
      {
        id: "actions",
        header: () => <span className="sr-only">Actions</span>,
        meta: { width: "112px", align: "right" },
        enableSorting: false,
        cell: ({ row }) => (
          <Button
            size="sm"
            variant="ghost"
            disabled={resend.isPending}
            onClick={() => resend.mutate(row.original)}
            data-testid="customer-resend-invoice"
            aria-label={`Resend invoice ${row.original.number}`}
          >
            {resend.isPending && resend.variables?.id === row.original.id ? <Spinner /> : <SendIcon aria-hidden="true" />}
            Resend
          </Button>
        ),
      } satisfies ColumnDef<Invoice, unknown>,
    ];
  }, [write, resend]);
  return (
    <Table
      label={`Invoices ${v.subject_name} sees`}
      noun="invoices"
      rows={rows}
      columns={columns}
      text={invoiceText}
      defaultSort="number"
    />
  );
}

// The server's rules (records::rules::profile).
export const editUserSchema = z.object({
  name: z
    .string()
    .refine((s) => s.trim().length >= 1 && s.trim().length <= 200, { message: "A name of 1 to 200 characters." }),
  phone: z.string().refine((s) => s.trim() === "" || /^[0-9 +\-()]{3,40}$/.test(s.trim()), {
    message: "3 to 40 digits, spaces and + - ( ); or leave it empty to keep the current number.",
  }),
});
type EditValues = z.infer<typeof editUserSchema>;

function EditUserDialog({ user, onClose, sessionId }: { user: CustomerUser | null; onClose: () => void; sessionId: string }) {
  return (
    <Dialog open={!!user} onOpenChange={(o) => !o && onClose()}>
      {user && <EditUserBody key={user.id} user={user} onClose={onClose} sessionId={sessionId} />}
    </Dialog>
  );
}

function EditUserBody({ user, onClose, sessionId }: { user: CustomerUser; onClose: () => void; sessionId: string }) {
  const queryClient = useQueryClient();
  const ended = useSessionEnd();
  const [refusal, setRefusal] = useState<unknown>(null);
  const form = useForm<EditValues>({
    resolver: zodResolver(editUserSchema),
    defaultValues: { name: user.name, phone: "" },
  });
  const submit = form.handleSubmit(async (v) => {
    setRefusal(null);
    const name = v.name.trim() === user.name ? null : v.name.trim();
    const phone = v.phone.trim() === "" ? null : v.phone.trim();
    if (name === null && phone === null) {
      onClose();
      return;
    }
    try {
      const updated = await customerUpdateUser(user.id, { name, phone });
      queryClient.setQueryData<CustomerUser[]>(customerUsersQuery(sessionId).queryKey, (rows) =>
        rows?.map((r) => (r.id === updated.id ? updated : r)),
      );
      toast.success(`${updated.name}'s profile changed`, { description: "Recorded in the session's timeline." });
      onClose();
    } catch (e) {
      if (ended(e)) onClose();
      else setRefusal(e);
    }
  });
  return (
    <DialogContent className="sm:max-w-md" data-testid="customer-edit-dialog">
      <DialogHeader>
        <DialogTitle>Edit {user.name}'s profile</DialogTitle>
        <DialogDescription>On the customer's behalf. The current phone number stays masked: type a new one to replace it.</DialogDescription>
      </DialogHeader>
      <Form {...form}>
        <form onSubmit={submit} noValidate className="grid gap-4">
          <FormField
            control={form.control}
            name="name"
            render={({ field }) => (
              <FormItem>
                <FormLabel>Name</FormLabel>
                <FormControl>
                  <Input {...field} autoFocus autoComplete="off" data-testid="customer-edit-name" />
                </FormControl>
                <FormMessage />
              </FormItem>
            )}
          />
          <FormField
            control={form.control}
            name="phone"
            render={({ field }) => (
              <FormItem>
                <FormLabel>New phone number</FormLabel>
                <FormControl>
                  <Input {...field} autoComplete="off" inputMode="tel" placeholder={user.phone.masked} data-testid="customer-edit-phone" />
                </FormControl>
                <FormMessage />
              </FormItem>
            )}
          />
          {refusal !== null && (
            <p role="alert" className="text-destructive text-sm" data-testid="customer-edit-refusal">
              {refusalWords(refusal)}
            </p>
          )}
          <DialogFooter>
            <DialogClose asChild>
              <Button type="button" variant="outline">
                Cancel
              </Button>
            </DialogClose>
            <Button type="submit" disabled={form.formState.isSubmitting} data-testid="customer-edit-save">
              {form.formState.isSubmitting && <Spinner />}
              Save changes
            </Button>
          </DialogFooter>
        </form>
      </Form>
    </DialogContent>
  );
}
