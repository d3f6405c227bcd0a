import type { ReactNode } from "react";
import { cn } from "@/lib/utils";

/** The frame of the screens before the shell: product mark, one card, a footer line. */
export function CenteredPane({
  children,
  footer,
  className,
  testId,
}: {
  children: ReactNode;
  footer?: ReactNode;
  className?: string;
  testId?: string;
}) {
  return (
    <main className="bg-muted/40 flex h-full flex-col items-center justify-center overflow-auto p-6" data-testid={testId}>
      <div className="mb-6 flex items-center gap-2">
        <span
          aria-hidden="true"
          className="bg-primary text-primary-foreground flex size-7 items-center justify-center rounded-md text-sm font-bold"
        >
          C
        </span>
        <span className="text-base font-semibold tracking-tight">Countersign</span>
      </div>
      <div
        className={cn(
          "bg-card text-card-foreground w-full max-w-md rounded-xl border p-6 shadow-sm",
          className,
        )}
      >
        {children}
      </div>
      {footer && <div className="text-muted-foreground mt-4 text-xs">{footer}</div>}
    </main>
  );
}
