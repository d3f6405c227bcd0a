import { forwardRef, type ComponentProps } from "react";
import { SearchIcon } from "lucide-react";
import { Input } from "@/components/ui/input";
import { Kbd } from "@/components/ui/kbd";
import { cn } from "@/lib/utils";

/** A table's filter box: search icon, `/` hint, Esc clears. */
export const FilterInput = forwardRef<
  HTMLInputElement,
  Omit<ComponentProps<typeof Input>, "onChange" | "value"> & {
    value: string;
    onValueChange: (value: string) => void;
    /** ArrowDown leaves the box for the table. */
    onArrowDown?: () => void;
  }
>(function FilterInput({ value, onValueChange, onArrowDown, className, ...props }, ref) {
  return (
    <div className={cn("relative w-72", className)}>
      <SearchIcon
        className="text-muted-foreground pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2"
        aria-hidden="true"
      />
      <Input
        ref={ref}
        type="search"
        value={value}
        onChange={(e) => onValueChange(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape" && value) {
            e.preventDefault();
            e.stopPropagation();
            onValueChange("");
          } else if (e.key === "ArrowDown" && onArrowDown) {
            e.preventDefault();
            onArrowDown();
          }
        }}
        className="h-8 pr-8 pl-8 [&::-webkit-search-cancel-button]:hidden"
        {...props}
      />
      {!value && (
        <Kbd className="absolute top-1/2 right-2 -translate-y-1/2" aria-hidden="true">
          /
        </Kbd>
      )}
    </div>
  );
});
