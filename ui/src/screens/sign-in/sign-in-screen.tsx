import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useSearch } from "@tanstack/react-router";
import { HourglassIcon, InfoIcon, LogInIcon, RotateCwIcon, TriangleAlertIcon } from "lucide-react";
import { signIn, signInCancel } from "@/bindings/commands";
import type { Provider } from "@/bindings/types";
import { Button } from "@/components/ui/button";
import { Spinner } from "@/components/ui/spinner";
import { CenteredPane } from "@/components/centered-pane";
import { EmptyState } from "@/components/empty-state";
import { errorCode, errorWords } from "@/lib/errors";
import { appStateQuery } from "@/lib/queries";
import { rememberAccount } from "@/lib/session";
import { useDocumentTitle } from "@/lib/title";
import { cn } from "@/lib/utils";

export function SignInScreen() {
  useDocumentTitle("Sign in");
  const { data: state } = useQuery(appStateQuery);
  const { reason } = useSearch({ from: "/sign-in" });
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [provider, setProvider] = useState<Provider | null>(null);

  const signInMutation = useMutation({
    mutationFn: (p: Provider) => signIn(p.issuer),
    onSuccess: (account) => {
      rememberAccount(queryClient, account);
      void navigate({ to: "/", replace: true });
    },
  });
  const cancel = useMutation({ mutationFn: signInCancel });

  if (!state) return null;
  const providers = state.server?.providers ?? [];
  const waiting = signInMutation.isPending;
  // Signed in at the provider, but the account is new and waits for a security admin: not an
  // error, a state of the account (just-in-time provisioning).
  const accessPending = errorCode(signInMutation.error) === "access_pending" ? signInMutation.variables : undefined;

  // What to say above the buttons: the last attempt's error, else why the user is here.
  const notice = signInMutation.isError
    ? signInMutation.error
    : reason
      ? { code: reason, message: "" }
      : state.resume_error;
  const noticeIsInfo = errorCode(notice) === "sign_in_cancelled";

  return (
    <CenteredPane
      footer={
        !waiting && !accessPending && (
        <span className="flex items-center gap-2">
          <span className="font-mono">{state.server?.url}</span>
          <span aria-hidden="true">·</span>
          <Link
            to="/server"
            className="hover:text-foreground focus-visible:ring-ring/60 rounded underline underline-offset-4 outline-none focus-visible:ring-[3px]"
          >
            Change server
          </Link>
        </span>
        )
      }
    >
      {waiting ? (
        <div className="flex flex-col items-center gap-4 py-4 text-center" data-testid="sign-in-waiting" role="status">
          <Spinner className="text-muted-foreground size-6" aria-label="Waiting for your browser" />
          <div>
            <h1 className="text-lg font-semibold">Waiting for your browser…</h1>
            <p className="text-muted-foreground mt-1 text-sm">
              Finish signing in with {provider?.name} in the browser window that opened. Countersign
              comes back to the front when you are done.
            </p>
          </div>
          <Button
            variant="outline"
            autoFocus
            data-testid="sign-in-cancel"
            disabled={cancel.isPending}
            onClick={() => cancel.mutate()}
          >
            Cancel
          </Button>
        </div>
      ) : accessPending ? (
        <AccessPending
          provider={accessPending}
          onRetry={() => signInMutation.mutate(accessPending)}
          onOtherAccount={providers.length > 1 ? () => signInMutation.reset() : undefined}
        />
      ) : (
        <>
          <h1 className="text-lg font-semibold">Sign in to Countersign</h1>
          <p className="text-muted-foreground mt-1 text-sm">
            Use your company account. Countersign opens your web browser to sign you in; no
            password is typed here.
          </p>
          {notice && (
            <div
              role="alert"
              className={cn(
                "mt-4 flex gap-2 rounded-md border px-3 py-2 text-sm",
                noticeIsInfo
                  ? "bg-muted/60 text-foreground"
                  : "border-destructive/30 bg-destructive/5 text-destructive",
              )}
            >
              {noticeIsInfo ? (
                <InfoIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
              ) : (
                <TriangleAlertIcon className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
              )}
              <span>{errorWords(notice)}</span>
            </div>
          )}
          {providers.length === 0 ? (
            <EmptyState title="No sign-in provider" className="py-6">
              This server offers no way to sign in yet. Ask your IT team, or change the server.
            </EmptyState>
          ) : (
            <div className="mt-5 grid gap-2">
              {providers.map((p, index) => (
                <Button
                  key={p.issuer}
                  size="lg"
                  variant={index === 0 ? "default" : "outline"}
                  autoFocus={index === 0}
                  data-testid={`sign-in-${index}`}
                  onClick={() => {
                    setProvider(p);
                    signInMutation.mutate(p);
                  }}
                >
                  <LogInIcon aria-hidden="true" />
                  Sign in with {p.name}
                </Button>
              ))}
            </div>
          )}
        </>
      )}
    </CenteredPane>
  );
}

/**
 * The account exists (a first sign-in created it) but has no access yet: said calmly, with
 * what happens next and a way to try again once a security admin has granted it.
 */
function AccessPending({
  provider,
  onRetry,
  onOtherAccount,
}: {
  provider: Provider;
  onRetry: () => void;
  onOtherAccount?: () => void;
}) {
  return (
    <div className="flex flex-col items-center gap-4 py-2 text-center" role="status" data-testid="access-pending">
      <div className="flex size-10 items-center justify-center rounded-full bg-amber-100 text-amber-800 dark:bg-amber-400/15 dark:text-amber-300">
        <HourglassIcon className="size-5" aria-hidden="true" />
      </div>
      <div>
        <h1 className="text-lg font-semibold">Your account is waiting for access</h1>
        <p className="text-muted-foreground mt-1 text-sm">
          You signed in with {provider.name}, and a security administrator has been asked to review your
          account. You can close Countersign and come back later: once they have given you access, sign in
          again.
        </p>
      </div>
      <div className="flex flex-col items-center gap-1">
        <Button autoFocus onClick={onRetry} data-testid="access-pending-retry">
          <RotateCwIcon aria-hidden="true" />
          Try again
        </Button>
        {onOtherAccount && (
          <Button variant="link" size="sm" className="text-muted-foreground" onClick={onOtherAccount} data-testid="access-pending-other">
            Sign in with another provider
          </Button>
        )}
      </div>
    </div>
  );
}
