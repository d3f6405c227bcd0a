import type { ReactNode } from "react";
import type { LucideIcon } from "lucide-react";
import { InboxIcon } from "lucide-react";
import { cn } from "@/lib/utils";

/** Says why something is empty and what to do; optionally one action. */
export function EmptyState({
  icon: Icon = InboxIcon,
  title,
  children,
  action,
  className,
  testId,
}: {
  icon?: LucideIcon;
  title: string;
  children?: ReactNode;
  action?: ReactNode;
  className?: string;
  testId?: string;
}) {
  return (
    <div
      className={cn(
        "flex flex-col items-center justify-center gap-3 px-6 py-12 text-center",
        className,
      )}
      data-testid={testId}
    >
      <div className="bg-muted text-muted-foreground flex size-10 items-center justify-center rounded-full">
        <Icon className="size-5" aria-hidden="true" />
      </div>
      <div className="space-y-1">
        <p className="text-sm font-medium">{title}</p>
        {children && <div className="text-muted-foreground max-w-md text-sm">{children}</div>}
      </div>
      {action}
    </div>
  );
}
