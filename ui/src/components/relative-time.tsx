import { useEffect, useState } from "react";
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip";
import { formatDateTime, formatRelative } from "@/lib/format";
import { cn } from "@/lib/utils";

/** Re-renders every `ms` so relative times stay true. */
function useNow(ms: number) {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const id = window.setInterval(() => setNow(new Date()), ms);
    return () => window.clearInterval(id);
  }, [ms]);
  return now;
}

/** "3 min ago", with the absolute local time on hover. */
export function RelativeTime({ value, className }: { value: string; className?: string }) {
  const now = useNow(30_000);
  const absolute = formatDateTime(value);
  return (
    <Tooltip>
      <TooltipTrigger asChild>
        <time dateTime={value} className={cn("whitespace-nowrap", className)} aria-label={absolute}>
          {formatRelative(value, now)}
        </time>
      </TooltipTrigger>
      <TooltipContent>{absolute}</TooltipContent>
    </Tooltip>
  );
}
