import { useQueryClient, useQuery } from "@tanstack/react-query";
import { Link, useRouter } from "@tanstack/react-router";
import { ArrowUpCircleIcon } from "lucide-react";
import { Button } from "@/components/ui/button";
import { CenteredPane } from "@/components/centered-pane";
import { UpdateCheck } from "@/components/update-check";
import { appStateQuery } from "@/lib/queries";
import { useDocumentTitle } from "@/lib/title";

/** The server needs a newer client: no sign-in until the app is updated. */
export function UpdateScreen() {
  useDocumentTitle("Update required");
  const { data: state } = useQuery(appStateQuery);
  const queryClient = useQueryClient();
  const router = useRouter();
  if (!state) return null;
  return (
    <CenteredPane testId="update-required">
      <div className="flex items-start gap-3">
        <ArrowUpCircleIcon className="text-primary mt-0.5 size-5 shrink-0" aria-hidden="true" />
        <div>
          <h1 className="text-lg font-semibold">Update required</h1>
          <p className="text-muted-foreground mt-1 text-sm">
            The server at <span className="text-foreground font-medium">{state.server?.url}</span>{" "}
            needs a newer version of Countersign. Install it below, or the one your IT team
            provides, then start Countersign again.
          </p>
        </div>
      </div>
      <dl className="bg-muted/50 mt-5 grid grid-cols-[auto_1fr] gap-x-6 gap-y-1.5 rounded-md border px-4 py-3 text-sm">
        <dt className="text-muted-foreground">This version</dt>
        <dd className="tabular font-mono">{state.client_version}</dd>
        <dt className="text-muted-foreground">Oldest version the server accepts</dt>
        <dd className="tabular font-mono">{state.server?.min_client_version}</dd>
      </dl>
      <div className="mt-5">
        <UpdateCheck currentVersion={state.client_version} />
      </div>
      <div className="mt-5 flex gap-2 border-t pt-4">
        <Button
          variant="outline"
          onClick={async () => {
            await queryClient.invalidateQueries({ queryKey: appStateQuery.queryKey });
            await router.invalidate();
          }}
        >
          Check again
        </Button>
        <Button asChild variant="ghost">
          <Link to="/server">Change server</Link>
        </Button>
      </div>
    </CenteredPane>
  );
}
