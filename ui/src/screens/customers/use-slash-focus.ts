import { useEffect, type RefObject } from "react";
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
