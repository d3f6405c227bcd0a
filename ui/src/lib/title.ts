import { useEffect } from "react";

/** Names the screen in the window title: "<Screen> — Countersign". */
export function useDocumentTitle(screen: string | null | undefined) {
  useEffect(() => {
    document.title = screen ? `${screen} — Countersign` : "Countersign";
  }, [screen]);
}
