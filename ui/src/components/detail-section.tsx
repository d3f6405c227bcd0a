import type { ReactNode } from "react";

/** A titled part of a detail sheet (policy, decisions, timeline…), ruled off from the one above. */
export function DetailSection({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="border-t py-3">
      <h3 className="text-muted-foreground mb-1 text-xs font-medium tracking-wide uppercase">{title}</h3>
      {children}
    </section>
  );
}
