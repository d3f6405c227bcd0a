import type { Money as MoneyValue } from "@/bindings/types";
import { formatAmount } from "@/lib/format";
import { cn } from "@/lib/utils";

/** Money: right-aligned, tabular numerals, currency code after the amount (`29,665.70 EUR`). */
export function MoneyCell({ value, className }: { value: MoneyValue; className?: string }) {
  return (
    <span className={cn("tabular block text-right whitespace-nowrap", className)}>
      {formatAmount(value)}
      <span className="text-muted-foreground ml-1 text-xs">{value.currency}</span>
    </span>
  );
}
