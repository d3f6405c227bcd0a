import { Link, useRouter, type ErrorComponentProps } from "@tanstack/react-router";
import { useQueryClient } from "@tanstack/react-query";
import { CompassIcon } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Spinner } from "@/components/ui/spinner";
import { EmptyState } from "@/components/empty-state";
import { ErrorState } from "@/components/error-state";
import { useDocumentTitle } from "@/lib/title";

/** While the session is being resolved. */
export function Splash() {
  return (
    <div className="flex h-full items-center justify-center" aria-busy="true">
      <div className="text-muted-foreground flex items-center gap-3 text-sm">
        <Spinner />
        Starting Countersign…
      </div>
    </div>
  );
}

/** A guard or a screen failed before anything could be shown. */
export function RootError({ error, reset }: ErrorComponentProps) {
  const router = useRouter();
  const queryClient = useQueryClient();
  useDocumentTitle("Problem");
  return (
    <div className="flex h-full items-center justify-center">
      <ErrorState
        error={error}
        title="Countersign could not start"
        onRetry={() => {
          queryClient.resetQueries();
          reset();
          void router.invalidate();
        }}
      />
    </div>
  );
}

export function NotFound() {
  useDocumentTitle("Not found");
  return (
    <div className="flex h-full items-center justify-center">
      <EmptyState
        icon={CompassIcon}
        title="There is nothing here"
        action={
          <Button asChild variant="outline" size="sm">
            <Link to="/">Go to Home</Link>
          </Button>
        }
      >
        This address does not lead to a screen. Go back to Home.
      </EmptyState>
    </div>
  );
}
