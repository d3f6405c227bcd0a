import { useEffect, useRef, useState, type RefObject } from "react";
import { isPlainShortcut } from "@/lib/keyboard";

/** `/` focuses the screen's filter box. */
export function useSlashFocus(ref: RefObject<HTMLInputElement | null>) {
  useEffect(() => {
    const onKeyDown = (e: KeyboardEvent) => {
      if (e.key !== "/" || !isPlainShortcut(e)) return;
      e.preventDefault();
      ref.current?.focus();
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [ref]);
}

/** Moves focus from the filter box to the table region of the screen. */
export function focusTable(root: HTMLElement | null) {
  root?.querySelector<HTMLElement>("[data-virtual-scroll]")?.focus();
}

/**
 * A list screen's filter box: its text is kept in the URL's `q` (so a screen comes back
 * filtered), and `/` focuses it. `setQ` writes the URL; it runs only when the box changes.
 */
export function useFilterBox(q: string | undefined, setQ: (q: string | undefined) => void) {
  const [filter, setFilter] = useState(q ?? "");
  const filterRef = useRef<HTMLInputElement>(null);
  useSlashFocus(filterRef);
  useEffect(() => {
    if ((q ?? "") !== filter) setQ(filter || undefined);
  }, [filter]);
  return { filter, setFilter, filterRef };
}
