import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { ChevronDownIcon, KeyboardIcon, LogOutIcon, PaletteIcon, PowerIcon, SettingsIcon } from "lucide-react";
import { toast } from "sonner";
import { appQuit, signOut } from "@/bindings/commands";
import type { Theme } from "@/bindings/types";
import { ConfirmDestructive } from "@/components/confirm-destructive";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuRadioGroup,
  DropdownMenuRadioItem,
  DropdownMenuSeparator,
  DropdownMenuShortcut,
  DropdownMenuSub,
  DropdownMenuSubContent,
  DropdownMenuSubTrigger,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { errorWords } from "@/lib/errors";
import { formatCount, humanize, initials } from "@/lib/format";
import { useAccount } from "@/lib/permissions";
import { syncStatusQuery } from "@/lib/queries";
import { forgetAccount } from "@/lib/session";
import { THEMES, useTheme } from "@/lib/theme";

export function AccountMenu({ onShowShortcuts }: { onShowShortcuts: () => void }) {
  const { account } = useAccount();
  const { theme, setTheme } = useTheme();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const { data: status } = useQuery(syncStatusQuery);

  const signOutMutation = useMutation({
    mutationFn: signOut,
    onSuccess: () => {
      forgetAccount(queryClient);
      void navigate({ to: "/sign-in", replace: true });
    },
    // A provider that refuses to revoke does not fail a sign-out (the core
    // logs it): an error here is local (the keyring) and worth saying.
    onError: (error) => {
      toast.error("Sign-out did not finish", { description: errorWords(error) });
    },
  });

  if (!account) return null;
  const records = status?.records ?? 0;

  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button
            variant="ghost"
            size="sm"
            className="gap-2 px-1.5"
            data-testid="account-menu"
            aria-label={`Account: ${account.display_name}`}
          >
            <span
              aria-hidden="true"
              className="bg-secondary text-secondary-foreground flex size-6 items-center justify-center rounded-full text-[11px] font-semibold"
            >
              {initials(account.display_name)}
            </span>
            <span className="max-w-40 truncate text-sm">{account.display_name}</span>
            <ChevronDownIcon className="text-muted-foreground size-3.5" aria-hidden="true" />
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end" className="w-64">
          <DropdownMenuLabel className="font-normal">
            <div className="text-sm font-medium">{account.display_name}</div>
            <div className="text-muted-foreground truncate text-xs">{account.email}</div>
            {account.roles.length > 0 && (
              <div className="mt-2 flex flex-wrap gap-1">
                {account.roles.map((role) => (
                  <Badge key={role} variant="secondary">
                    {humanize(role)}
                  </Badge>
                ))}
              </div>
            )}
          </DropdownMenuLabel>
          <DropdownMenuSeparator />
          <DropdownMenuSub>
            <DropdownMenuSubTrigger>
              <PaletteIcon aria-hidden="true" />
              Theme
            </DropdownMenuSubTrigger>
            <DropdownMenuSubContent>
              <DropdownMenuRadioGroup value={theme} onValueChange={(v) => setTheme(v as Theme)}>
                {THEMES.map((t) => (
                  <DropdownMenuRadioItem key={t.value} value={t.value} data-testid={`menu-theme-${t.value}`}>
                    {t.label}
                  </DropdownMenuRadioItem>
                ))}
              </DropdownMenuRadioGroup>
            </DropdownMenuSubContent>
          </DropdownMenuSub>
          <DropdownMenuItem onSelect={() => void navigate({ to: "/settings" })} data-testid="menu-settings">
            <SettingsIcon aria-hidden="true" />
            Settings
            <DropdownMenuShortcut>G S</DropdownMenuShortcut>
          </DropdownMenuItem>
          <DropdownMenuItem onSelect={onShowShortcuts}>
            <KeyboardIcon aria-hidden="true" />
            Keyboard shortcuts
            <DropdownMenuShortcut>?</DropdownMenuShortcut>
          </DropdownMenuItem>
          <DropdownMenuSeparator />
          <DropdownMenuItem
            variant="destructive"
            data-testid="sign-out"
            onSelect={() => setConfirming(true)}
          >
            <LogOutIcon aria-hidden="true" />
            Sign out…
          </DropdownMenuItem>
          <DropdownMenuItem onSelect={() => void appQuit()} data-testid="menu-quit">
            <PowerIcon aria-hidden="true" />
            Quit
            <DropdownMenuShortcut>Ctrl Q</DropdownMenuShortcut>
          </DropdownMenuItem>
        </DropdownMenuContent>
      </DropdownMenu>

      <ConfirmDestructive
        open={confirming}
        onOpenChange={setConfirming}
        title="Sign out and wipe local data?"
        description={
          <>
            Countersign ends your session with the server and deletes the encrypted copy of your
            records on this computer
            {records > 0 ? ` (${formatCount(records)} records)` : ""}. To work again you sign in
            and wait for a full sync.
          </>
        }
        cancel="Stay signed in"
        action="Sign out and wipe"
        pending={signOutMutation.isPending}
        onConfirm={() => signOutMutation.mutate()}
        testId="sign-out-confirm"
      />
    </>
  );
}
