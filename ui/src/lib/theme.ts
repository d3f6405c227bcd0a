import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";
import { themeSet } from "@/bindings/commands";
import type { SettingsView, Theme } from "@/bindings/types";
import { errorWords } from "@/lib/errors";
import { settingsQuery } from "@/lib/queries";

export const THEMES: { value: Theme; label: string }[] = [
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
  { value: "system", label: "System" },
];

/** The saved theme (settingsGet) and a setter (themeSet), applied at once. */
export function useTheme() {
  const queryClient = useQueryClient();
  const { data } = useQuery(settingsQuery);
  const theme: Theme = data?.theme ?? "system";
  const mutation = useMutation({
    mutationFn: themeSet,
    onMutate: async (next: Theme) => {
      await queryClient.cancelQueries({ queryKey: settingsQuery.queryKey });
      const previous = queryClient.getQueryData<SettingsView>(settingsQuery.queryKey);
      if (previous) queryClient.setQueryData(settingsQuery.queryKey, { ...previous, theme: next });
      return { previous };
    },
    onError: (error, _next, context) => {
      if (context?.previous) queryClient.setQueryData(settingsQuery.queryKey, context.previous);
      toast.error("The theme could not be saved", { description: errorWords(error) });
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: settingsQuery.queryKey }),
  });
  return { theme, setTheme: (t: Theme) => mutation.mutate(t) };
}

export function prefersDark(): boolean {
  return typeof window.matchMedia === "function" && window.matchMedia("(prefers-color-scheme: dark)").matches;
}

export function resolveTheme(theme: Theme): "light" | "dark" {
  return theme === "system" ? (prefersDark() ? "dark" : "light") : theme;
}
