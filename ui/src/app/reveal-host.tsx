import { useState, type ReactNode } from "react";
import { RevealContext, type RevealTarget } from "@/components/reveal-context";
import { RevealDialog } from "@/screens/reveal/reveal-dialog";

/** Hosts the one reveal dialog; MaskedValue opens it through RevealContext. */
export function RevealHost({ children }: { children: ReactNode }) {
  const [target, setTarget] = useState<RevealTarget | null>(null);
  return (
    <RevealContext.Provider value={setTarget}>
      {children}
      <RevealDialog target={target} onClose={() => setTarget(null)} />
    </RevealContext.Provider>
  );
}
