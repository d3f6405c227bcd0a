import { FilterXIcon } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";

const ALL = "all";

/** One filter of a list: "Every …" or one value; `undefined` is every. */
export function FilterSelect<V extends string>({
  label,
  every,
  value,
  options,
  onChange,
  className,
  testId,
}: {
  label: string;
  every: string;
  value: V | undefined;
  options: readonly (readonly [V, string])[];
  onChange: (value: V | undefined) => void;
  className?: string;
  /** Defaults to filter-<label>. */
  testId?: string;
}) {
  return (
    <Select value={value ?? ALL} onValueChange={(v) => onChange(v === ALL ? undefined : (v as V))}>
      <SelectTrigger size="sm" className={className} aria-label={label} data-testid={testId ?? `filter-${label.toLowerCase()}`}>
        <SelectValue />
      </SelectTrigger>
      <SelectContent>
        <SelectItem value={ALL}>{every}</SelectItem>
        {options.map(([v, text]) => (
          <SelectItem key={v} value={v}>
            {text}
          </SelectItem>
        ))}
      </SelectContent>
    </Select>
  );
}

/** Drops every filter of a list at once; shown only while one is set. */
export function ClearFilters({ onClear, testId = "clear-filters" }: { onClear: () => void; testId?: string }) {
  return (
    <Button variant="ghost" size="sm" onClick={onClear} data-testid={testId}>
      <FilterXIcon aria-hidden="true" />
      Clear filters
    </Button>
  );
}
