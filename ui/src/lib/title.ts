import { useEffect } from "react";

let prefix = "";
let screen: string | null | undefined = null;

function apply() {
  const base = screen ? `${screen} — Countersign` : "Countersign";
  document.title = prefix ? `${prefix} — ${base}` : base;
}

/** Names the screen in the window title: "<Screen> — Countersign". */
export function useDocumentTitle(name: string | null | undefined) {
  useEffect(() => {
    screen = name;
    apply();
  }, [name]);
}

/** In a support session the title starts with "Support session —" (UI.md), on every screen. */
export function useTitlePrefix(value: string | null) {
  useEffect(() => {
    prefix = value ?? "";
    apply();
    return () => {
      prefix = "";
      apply();
    };
  }, [value]);
}
