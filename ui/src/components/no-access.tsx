import { Link } from "@tanstack/react-router";
import { ShieldOffIcon } from "lucide-react";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/empty-state";

/** Whole-pane "no permission": one sentence, one action. */
export function NoAccess({ what = "customer records" }: { what?: string }) {
  return (
    <div className="flex h-full items-center justify-center" data-testid="no-access">
      <EmptyState
        icon={ShieldOffIcon}
        title="No access"
        action={
          <Button asChild variant="outline" size="sm">
            <Link to="/">Go to Home</Link>
          </Button>
        }
      >
        You don't have access to {what}. Ask a security admin.
      </EmptyState>
    </div>
  );
}
