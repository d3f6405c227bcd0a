import type { QueryClient } from "@tanstack/react-query";
import type { AccountView, AppState, Code } from "@/bindings/types";
import { appStateQuery } from "@/lib/queries";

/**
 * Drops every cached read except the session itself (after sign-out, wipe or sign-in).
 * Only reads nobody shows are removed: a removed entry that a mounted component still
 * watches leaves that component on the dead entry, blind to every later write under the
 * key (the window's theme, watched from app start, stopped following Settings after a
 * sign-in). Watched reads are fetched again instead.
 */
export function dropData(queryClient: QueryClient) {
  const predicate = (q: { queryKey: readonly unknown[] }) => q.queryKey[0] !== appStateQuery.queryKey[0];
  queryClient.removeQueries({ predicate, type: "inactive" });
  void queryClient.invalidateQueries({ predicate, type: "active" });
}

/** Codes that say the session is over: the window forgets the account and asks to sign in. */
export const SESSION_ENDED: Code[] = ["signed_out", "not_signed_in", "refresh_rejected", "account_disabled"];

/** The server refused this app's version (its minimum was raised while the app ran). */
export const UPDATE_REQUIRED: Code = "client_update_required";

/**
 * After UPDATE_REQUIRED: AppState is read again (the Rust side now says update_required, with
 * the server's new minimum), so the route guard keeps the window on the update screen. The
 * session is kept for the updated app. Inactive entries are refetched too: the guard reads the
 * cached AppState and must not find the old one.
 */
export async function reloadForUpdate(queryClient: QueryClient) {
  await queryClient.invalidateQueries({ queryKey: appStateQuery.queryKey, refetchType: "all" });
}

/** The session ended (signed out here, or refused by the server): forget the account. */
export function forgetAccount(queryClient: QueryClient) {
  queryClient.setQueryData<AppState>(appStateQuery.queryKey, (s) => s && { ...s, account: null });
  dropData(queryClient);
}

/** A sign-in completed: remember the account. */
export function rememberAccount(queryClient: QueryClient, account: AccountView) {
  dropData(queryClient);
  queryClient.setQueryData<AppState>(
    appStateQuery.queryKey,
    (s) => s && { ...s, account, resume_error: null },
  );
}

/** Where the app belongs for a session state. */
export type Stage = "server" | "update" | "sign-in" | "sync" | "app";

export const STAGE_PATH = {
  server: "/server",
  update: "/update",
  "sign-in": "/sign-in",
  sync: "/sync",
  app: "/",
} as const satisfies Record<Stage, string>;
