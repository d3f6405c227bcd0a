import { QueryClient } from "@tanstack/react-query";

export function createQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Reads come from the local cache: a failure is real, retrying hides it.
        retry: false,
        refetchOnWindowFocus: false,
        // Data changes only through sync, which invalidates it.
        staleTime: 30_000,
      },
      mutations: { retry: false },
    },
  });
}
