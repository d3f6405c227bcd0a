import { RouterProvider } from "@tanstack/react-router";
import type { QueryClient } from "@tanstack/react-query";
import { Providers } from "@/app/providers";
import type { AppRouter } from "@/app/router";

export function App({ queryClient, router }: { queryClient: QueryClient; router: AppRouter }) {
  return (
    <Providers queryClient={queryClient}>
      <RouterProvider router={router} />
    </Providers>
  );
}
