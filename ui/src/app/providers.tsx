import { useEffect, useState, type ReactNode } from "react";
import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { Toaster } from "@/components/ui/sonner";
import { TooltipProvider } from "@/components/ui/tooltip";
import { resolveTheme, useTheme } from "@/lib/theme";

/** Applies the saved theme as the `dark` class on <html>; "system" follows the OS. */
function useAppliedTheme(): "light" | "dark" {
  const { theme } = useTheme();
  const [resolved, setResolved] = useState(() => resolveTheme(theme));
  useEffect(() => {
    const apply = () => {
      const next = resolveTheme(theme);
      document.documentElement.classList.toggle("dark", next === "dark");
      setResolved(next);
    };
    apply();
    if (theme !== "system" || typeof window.matchMedia !== "function") return;
    const media = window.matchMedia("(prefers-color-scheme: dark)");
    media.addEventListener("change", apply);
    return () => media.removeEventListener("change", apply);
  }, [theme]);
  return resolved;
}

function ThemedToaster() {
  const theme = useAppliedTheme();
  return <Toaster theme={theme} position="bottom-right" closeButton />;
}

export function Providers({
  queryClient,
  children,
}: {
  queryClient: QueryClient;
  children: ReactNode;
}) {
  return (
    <QueryClientProvider client={queryClient}>
      <TooltipProvider>
        {children}
        <ThemedToaster />
      </TooltipProvider>
    </QueryClientProvider>
  );
}
