import { queryOptions, type QueryClient } from "@tanstack/react-query";
import { appStart, orgsRecent, settingsGet, syncStatus } from "@/bindings/commands";

/**
 * Query keys are the command names (one query per command), followed by its arguments.
 * Queries used by more than one part of the app are defined here; a screen's own queries
 * live beside the screen.
 */
export const appStateQuery = queryOptions({
  queryKey: ["app_start"] as const,
  queryFn: appStart,
  // appStart resolves the session once; later changes come back from the commands that
  // cause them (serverSet, signIn, signOut) and are written into this entry.
  staleTime: Infinity,
  gcTime: Infinity,
});

export const syncStatusQuery = queryOptions({
  queryKey: ["sync_status"] as const,
  queryFn: syncStatus,
});

export const settingsQuery = queryOptions({
  queryKey: ["settings_get"] as const,
  queryFn: settingsGet,
});

/** The customers opened most recently (Home and the empty search palette). */
export const orgsRecentQuery = queryOptions({
  queryKey: ["orgs_recent"] as const,
  queryFn: orgsRecent,
});

/** Every query that reads records or local state: all but the session itself. */
export function invalidateData(queryClient: QueryClient) {
  return queryClient.invalidateQueries({
    predicate: (q) => q.queryKey[0] !== appStateQuery.queryKey[0],
  });
}
