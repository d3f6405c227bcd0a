import { useEffect, useRef, useState } from "react";
import { Link, Outlet, useNavigate } from "@tanstack/react-router";
import {
  Building2Icon,
  HeadsetIcon,
  MonitorSmartphoneIcon,
  HomeIcon,
  ScrollTextIcon,
  SearchIcon,
  SettingsIcon,
  ShieldCheckIcon,
  StampIcon,
  type LucideIcon,
} from "lucide-react";
import { appQuit } from "@/bindings/commands";
import { Kbd, KbdGroup } from "@/components/ui/kbd";
import { Separator } from "@/components/ui/separator";
import { OfflineBanner } from "@/components/offline-banner";
import { isPlainShortcut } from "@/lib/keyboard";
import { useAccount } from "@/lib/permissions";
import { useSyncState } from "@/lib/sync-state";
import { cn } from "@/lib/utils";
import { AccountMenu } from "@/app/account-menu";
import { CommandPalette } from "@/app/command-palette";
import { RevealHost } from "@/app/reveal-host";
import { ShortcutsDialog } from "@/app/shortcuts-dialog";
import { SyncIndicator } from "@/app/sync-indicator";
import { NotificationCentre } from "@/screens/notifications/notification-centre";
import { SyncProvider } from "@/app/sync-provider";
import { SupportBanner } from "@/screens/support/support-banner";
import { useSupport } from "@/screens/support/queries";

/** The signed-in frame: sidebar, top bar, banner slot, content; Ctrl+K and `?` anywhere. */
export function Shell() {
  return (
    <SyncProvider>
      <RevealHost>
        <ShellFrame />
      </RevealHost>
    </SyncProvider>
  );
}

function ShellFrame() {
  const [paletteOpen, setPaletteOpen] = useState(false);
  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  useGlobalShortcuts({
    togglePalette: () => setPaletteOpen((open) => !open),
    openShortcuts: () => setShortcutsOpen(true),
  });
  const { offline, lastSyncedAt } = useSyncState();

  return (
    <div className="flex h-full">
      <Sidebar />
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="bg-background flex h-12 shrink-0 items-center gap-3 border-b px-4">
          <button
            type="button"
            onClick={() => setPaletteOpen(true)}
            aria-label="Search customers, users, invoices, vendors and payments"
            aria-keyshortcuts="Control+K"
            data-testid="search-box"
            className="border-input text-muted-foreground hover:bg-accent/60 focus-visible:ring-ring/60 dark:bg-input/30 flex h-8 w-full max-w-md items-center gap-2 rounded-md border bg-transparent px-2.5 text-sm shadow-xs outline-none focus-visible:ring-[3px]"
          >
            <SearchIcon className="size-4" aria-hidden="true" />
            <span className="flex-1 truncate text-left">Search customers, users, invoices…</span>
            <KbdGroup>
              <Kbd>Ctrl</Kbd>
              <Kbd>K</Kbd>
            </KbdGroup>
          </button>
          <div className="ml-auto flex items-center gap-2">
            <SyncIndicator />
            <NotificationCentre />
            <Separator orientation="vertical" className="mx-1 !h-5" />
            <AccountMenu onShowShortcuts={() => setShortcutsOpen(true)} />
          </div>
        </header>
        {/* Banner slot: offline now; the support-session banner joins it later. */}
        <div data-slot="banners">
          <SupportBanner />
          {offline && <OfflineBanner lastSyncedAt={lastSyncedAt} />}
        </div>
        <main id="content" className="min-h-0 flex-1 overflow-auto">
          <Outlet />
        </main>
      </div>
      <CommandPalette open={paletteOpen} onOpenChange={setPaletteOpen} />
      <ShortcutsDialog open={shortcutsOpen} onOpenChange={setShortcutsOpen} />
    </div>
  );
}

type NavItem = {
  to: "/" | "/customers" | "/support" | "/approvals" | "/sessions" | "/audit" | "/staff" | "/settings";
  label: string;
  icon: LucideIcon;
  keys: string;
};

function Sidebar() {
  const { can: allowed } = useAccount();
  const { active: inSession } = useSupport();
  // Inside a support session the staff sections are out of reach (the server refuses them
  // with not_while_impersonating); the customer's view takes their place.
  const can = (p: Parameters<typeof allowed>[0]) => allowed(p) && (!inSession || p === "orgs:read");
  const sections: NavItem[] = [
    { to: "/", label: "Home", icon: HomeIcon, keys: "G H" },
    ...(inSession
      ? [{ to: "/support", label: "Customer view", icon: MonitorSmartphoneIcon, keys: "G V" } as NavItem]
      : []),
    ...(can("orgs:read")
      ? [{ to: "/customers", label: "Customers", icon: Building2Icon, keys: "G C" } as NavItem]
      : []),
    ...(can("approvals:request") || can("approvals:decide")
      ? [{ to: "/approvals", label: "Approvals", icon: StampIcon, keys: "G A" } as NavItem]
      : []),
    ...(can("impersonation:approve") || can("impersonation:review")
      ? [{ to: "/sessions", label: "Support sessions", icon: HeadsetIcon, keys: "G R" } as NavItem]
      : []),
    ...(can("audit:read") ? [{ to: "/audit", label: "Audit log", icon: ScrollTextIcon, keys: "G L" } as NavItem] : []),
    ...(can("staff:read") ? [{ to: "/staff", label: "Staff access", icon: ShieldCheckIcon, keys: "G T" } as NavItem] : []),
  ];
  return (
    <nav
      aria-label="Sections"
      className="bg-sidebar text-sidebar-foreground border-sidebar-border flex w-52 shrink-0 flex-col border-r"
    >
      <div className="flex h-12 items-center gap-2 border-b border-sidebar-border px-4">
        <span
          aria-hidden="true"
          className="bg-primary text-primary-foreground flex size-6 items-center justify-center rounded-md text-xs font-bold"
        >
          C
        </span>
        <span className="text-foreground text-sm font-semibold tracking-tight">Countersign</span>
      </div>
      <ul className="flex flex-1 flex-col gap-0.5 p-2">
        {sections.map((item) => (
          <li key={item.to}>
            <NavLink item={item} />
          </li>
        ))}
      </ul>
      <ul className="flex flex-col gap-0.5 border-t border-sidebar-border p-2">
        <li>
          <NavLink item={{ to: "/settings", label: "Settings", icon: SettingsIcon, keys: "G S" }} />
        </li>
      </ul>
    </nav>
  );
}

function NavLink({ item }: { item: NavItem }) {
  const Icon = item.icon;
  return (
    <Link
      to={item.to}
      activeOptions={{ exact: item.to === "/" }}
      className={cn(
        "group hover:bg-sidebar-accent hover:text-foreground focus-visible:ring-ring/60 flex h-8 items-center gap-2.5 rounded-md px-2.5 text-sm outline-none focus-visible:ring-[3px]",
        "data-[status=active]:bg-sidebar-accent data-[status=active]:text-foreground data-[status=active]:font-medium",
      )}
    >
      <Icon className="size-4 opacity-80" aria-hidden="true" />
      <span className="flex-1">{item.label}</span>
      <span className="text-muted-foreground hidden text-[11px] tracking-wider group-hover:inline" aria-hidden="true">
        {item.keys}
      </span>
    </Link>
  );
}

/** Ctrl+K (palette), `?` (shortcuts), and `g` then h / c / a / s (go to). */
function useGlobalShortcuts({
  togglePalette,
  openShortcuts,
}: {
  togglePalette: () => void;
  openShortcuts: () => void;
}) {
  const navigate = useNavigate();
  const pendingG = useRef(0);
  useEffect(() => {
    const onKeyDown = (e: KeyboardEvent) => {
      // Quit: the app ends a support session on the server before it exits.
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "q") {
        e.preventDefault();
        void appQuit();
        return;
      }
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k") {
        e.preventDefault();
        togglePalette();
        return;
      }
      if (!isPlainShortcut(e)) return;
      if (e.key === "?") {
        e.preventDefault();
        openShortcuts();
        return;
      }
      if (pendingG.current && Date.now() - pendingG.current < 1500) {
        pendingG.current = 0;
        const to = (
          { h: "/", c: "/customers", v: "/support", a: "/approvals", r: "/sessions", l: "/audit", t: "/staff", s: "/settings" } as const
        )[e.key as "h" | "c" | "v" | "a" | "r" | "l" | "t" | "s"];
        if (to) {
          e.preventDefault();
          void navigate({ to });
        }
        return;
      }
      if (e.key === "g") pendingG.current = Date.now();
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [navigate, togglePalette, openShortcuts]);
}
