import { useEffect } from "react";
import { RouterProvider } from "@tanstack/react-router";
import type { QueryClient } from "@tanstack/react-query";
import { Providers } from "@/app/providers";
import type { AppRouter } from "@/app/router";
import type { AppState } from "@/bindings/types";
import { errorCode } from "@/lib/errors";
import { appStateQuery } from "@/lib/queries";
import { forgetAccount, reloadForUpdate, SESSION_ENDED, UPDATE_REQUIRED } from "@/lib/session";

export function App({ queryClient, router }: { queryClient: QueryClient; router: AppRouter }) {
  useSessionEndedAnywhere(queryClient, router);
  return (
    <Providers queryClient={queryClient}>
      <RouterProvider router={router} />
    </Providers>
  );
}

/**
 * Any read or action the server answers with "this session is over" (signed out elsewhere,
 * refresh refused, the account deactivated) ends it here too: the Rust side has already wiped
 * it; the window forgets the account and goes to sign-in saying why. One the server refuses as
 * too old an app sends the window to the update screen. The sync timer catches both the same
 * way on its next run.
 */
function useSessionEndedAnywhere(queryClient: QueryClient, router: AppRouter) {
  useEffect(() => {
    let updating = false;
    const ended = (error: unknown) => {
      const code = errorCode(error);
      if (code === UPDATE_REQUIRED) {
        // Once: every read on screen fails the same way.
        if (updating || queryClient.getQueryData<AppState>(appStateQuery.queryKey)?.update_required) return;
        updating = true;
        void reloadForUpdate(queryClient)
          .then(() => router.navigate({ to: "/update", replace: true }))
          .finally(() => {
            updating = false;
          });
        return;
      }
      if (!code || !SESSION_ENDED.includes(code)) return;
      // Once: the reads still on screen fail the same way until the route changes.
      if (!queryClient.getQueryData<AppState>(appStateQuery.queryKey)?.account) return;
      forgetAccount(queryClient);
      void router.navigate({ to: "/sign-in", search: { reason: code }, replace: true });
    };
    const queries = queryClient.getQueryCache().subscribe((e) => {
      if (e.type === "updated" && e.action.type === "error") ended(e.action.error);
    });
    const mutations = queryClient.getMutationCache().subscribe((e) => {
      if (e.type === "updated" && e.action.type === "error") ended(e.action.error);
    });
    return () => {
      queries();
      mutations();
    };
  }, [queryClient, router]);
}
