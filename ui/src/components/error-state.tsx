import { RotateCwIcon, TriangleAlertIcon } from "lucide-react";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/empty-state";
import { errorWords } from "@/lib/errors";

/** A failed read: the code in words and one action (Retry). Never the raw code. */
export function ErrorState({
  error,
  title = "This could not be loaded",
  onRetry,
  className,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
  className?: string;
}) {
  return (
    <EmptyState
      icon={TriangleAlertIcon}
      title={title}
      className={className}
      testId="error-state"
      action={
        onRetry && (
          <Button variant="outline" size="sm" onClick={onRetry}>
            <RotateCwIcon aria-hidden="true" />
            Retry
          </Button>
        )
      }
    >
      <span role="alert">{errorWords(error)}</span>
    </EmptyState>
  );
}
