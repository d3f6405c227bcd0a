import { memo, useCallback, useMemo, useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import {
  BanknoteIcon,
  Building2Icon,
  FileTextIcon,
  StoreIcon,
  UserIcon,
  type LucideIcon,
} from "lucide-react";
import { search } from "@/bindings/commands";
import type { RecordType, SearchHit } from "@/bindings/types";
import {
  CommandDialog,
  CommandEmpty,
  CommandGroup,
  CommandInput,
  CommandItem,
  CommandList,
  CommandLoading,
} from "@/components/ui/command";
import { Spinner } from "@/components/ui/spinner";
import { errorWords } from "@/lib/errors";
import { useAccount } from "@/lib/permissions";
import { orgsRecentQuery } from "@/lib/queries";

/**
 * The palette shows this many hits, the best first. It asks for one more to
 * know whether to say that there are more. Each shown hit costs the keystroke
 * its share of the render (cmdk registers every item): 20 fill the list
 * twice over, and scripts/bench app-search measured the keystroke with them.
 */
export const SEARCH_SHOWN = 20;
const SEARCH_LIMIT = SEARCH_SHOWN + 1;

const GROUPS: { type: RecordType; heading: string; icon: LucideIcon }[] = [
  { type: "org", heading: "Customers", icon: Building2Icon },
  { type: "user", heading: "Users", icon: UserIcon },
  { type: "invoice", heading: "Invoices", icon: FileTextIcon },
  { type: "vendor", heading: "Vendors", icon: StoreIcon },
  { type: "payment", heading: "Payments", icon: BanknoteIcon },
];

const TAB_OF = { user: "users", invoice: "invoices", vendor: "vendors", payment: "payments" } as const;

/** Ctrl+K: find a customer (or a user, invoice, vendor, payment) in the local data. */
export function CommandPalette({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const [query, setQuery] = useState("");
  // Not deferred: a deferred term cost each keystroke a second render pass
  // before its search even started; the previous hits stay on screen
  // (memoized, see HitGroups) until the new ones arrive.
  const term = query.trim();
  const navigate = useNavigate();
  const { can } = useAccount();

  const results = useQuery({
    queryKey: ["search", term, SEARCH_LIMIT] as const,
    // User Timing marks around the command: scripts/bench app-search splits
    // keystroke → invoke → answer → paint with them (cheap, no effect otherwise).
    queryFn: async () => {
      performance.clearMarks(); // only the latest search's marks are kept
      performance.mark(`search:start:${term}`);
      try {
        return await search(term, SEARCH_LIMIT);
      } finally {
        performance.mark(`search:end:${term}`);
      }
    },
    enabled: open && term.length > 0,
    placeholderData: keepPreviousData,
  });
  const recent = useQuery({ ...orgsRecentQuery, enabled: open && can("orgs:read") });

  const close = useCallback(
    (next: boolean) => {
      onOpenChange(next);
      if (!next) setQuery("");
    },
    [onOpenChange],
  );

  // Stable, so that the memoized result list does not re-render on a keystroke.
  const openHit = useCallback((hit: Pick<SearchHit, "record_type" | "record_id" | "org_id">) => {
    close(false);
    if (hit.record_type === "org") {
      void navigate({ to: "/customers/$orgId", params: { orgId: hit.record_id } });
    } else {
      void navigate({
        to: "/customers/$orgId",
        params: { orgId: hit.org_id },
        search: { tab: TAB_OF[hit.record_type], selected: hit.record_id, open: hit.record_id },
      });
    }
  }, [close, navigate]);

  const found = term.length > 0 ? results.data : undefined;
  // The same array while the same answer is shown: HitGroups skips the keystroke.
  const hits = useMemo(() => (found ?? []).slice(0, SEARCH_SHOWN), [found]);
  const more = (found?.length ?? 0) > SEARCH_SHOWN;
  const showRecent = term.length === 0 && (recent.data?.length ?? 0) > 0;

  return (
    <CommandDialog
      open={open}
      onOpenChange={close}
      title="Find a customer"
      description="Search customers, users, invoices, vendors and payments in your local data"
      commandProps={{ shouldFilter: false, loop: true, label: "Find a customer" }}
    >
      <CommandInput
        value={query}
        onValueChange={setQuery}
        placeholder="Search by name, slug, invoice number…"
        data-testid="search-input"
        aria-label="Search"
      />
      {/* data-results-for: the term whose own results are on screen (not the
          previous term's kept while the next loads); scripts/bench app-search
          times a keystroke until it names the typed query. */}
      <CommandList
        data-results-for={
          term.length > 0 && results.isSuccess && !results.isPlaceholderData ? term : undefined
        }
      >
        {term.length > 0 && results.isPending && (
          <CommandLoading>
            <div className="text-muted-foreground flex items-center justify-center gap-2 py-6 text-sm">
              <Spinner /> Searching…
            </div>
          </CommandLoading>
        )}
        {results.isError && term.length > 0 ? (
          <div role="alert" className="text-muted-foreground px-4 py-6 text-center text-sm">
            {errorWords(results.error)}
          </div>
        ) : (
          term.length > 0 &&
          results.isSuccess && (
            <CommandEmpty>
              <span className="text-muted-foreground">
                Nothing matches “{term}” in your local data. Check the spelling, or sync if the
                record is new.
              </span>
            </CommandEmpty>
          )
        )}
        {term.length === 0 && !showRecent && (
          <div className="text-muted-foreground px-4 py-6 text-center text-sm">
            Type a customer’s name or slug, a user’s name, an invoice number or a vendor.
          </div>
        )}
        {showRecent && (
          <CommandGroup heading="Recent customers">
            {recent.data!.map((org) => (
              <CommandItem
                key={org.id}
                value={`recent:${org.id}`}
                onSelect={() => openHit({ record_type: "org", record_id: org.id, org_id: org.id })}
                data-testid="search-result"
                data-record-type="org"
                data-record-id={org.id}
              >
                <Building2Icon aria-hidden="true" />
                <span className="truncate font-medium">{org.name}</span>
                <span className="text-muted-foreground truncate font-mono text-xs">{org.slug}</span>
              </CommandItem>
            ))}
          </CommandGroup>
        )}
        <HitGroups hits={hits} onOpen={openHit} />
      </CommandList>
      <div className="text-muted-foreground flex items-center gap-3 border-t px-3 py-2 text-xs">
        {more && (
          <span data-testid="search-more" className="text-foreground mr-auto">
            More than {SEARCH_SHOWN} matches — keep typing to narrow them down
          </span>
        )}
        <span>↑↓ to move</span>
        <span>Enter to open</span>
        <span>Esc to close</span>
      </div>
    </CommandDialog>
  );
}

/**
 * The results, grouped by record type. Memoized: a keystroke re-renders the
 * palette, while the hits change only when its search answers; re-rendering
 * every item on every keystroke cost the keystroke's frame (scripts/bench
 * app-search).
 */
const HitGroups = memo(function HitGroups({
  hits,
  onOpen,
}: {
  hits: SearchHit[];
  onOpen: (hit: SearchHit) => void;
}) {
  return (
    <>
      {GROUPS.map((group) => {
        const items = hits.filter((h) => h.record_type === group.type);
        if (items.length === 0) return null;
        const Icon = group.icon;
        return (
          <CommandGroup key={group.type} heading={group.heading}>
            {items.map((hit) => (
              <CommandItem
                key={`${hit.record_type}:${hit.record_id}`}
                value={`${hit.record_type}:${hit.record_id}`}
                onSelect={() => onOpen(hit)}
                data-testid="search-result"
                data-record-type={hit.record_type}
                data-record-id={hit.record_id}
              >
                <Icon aria-hidden="true" />
                <span className="flex min-w-0 flex-1 items-baseline gap-2">
                  <span className="truncate font-medium">{hit.title}</span>
                  <span className="text-muted-foreground truncate text-xs">{hit.detail}</span>
                </span>
                {hit.record_type !== "org" && (
                  <span className="text-muted-foreground ml-2 shrink-0 text-xs">{hit.org_name}</span>
                )}
              </CommandItem>
            ))}
          </CommandGroup>
        );
      })}
    </>
  );
});
