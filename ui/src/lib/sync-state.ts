import { createContext, useContext } from "react";
import type { ErrorPayload } from "@/bindings/types";

/** What the shell knows about syncing; the shell provides it, screens read it. */
export type SyncState = {
  /** false outside the signed-in shell (no syncing there). */
  available: boolean;
  syncing: boolean;
  /** The last sync attempt was refused with `offline`; reads come from the cache. */
  offline: boolean;
  lastSyncedAt: string | null;
  /** The last sync's error other than offline, if the last attempt failed. */
  lastError: ErrorPayload | null;
  syncNow: () => void;
};

export const OFFLINE_ACTION_REASON = "You're offline. This needs the server; it comes back when a sync succeeds.";

const NO_SYNC: SyncState = {
  available: false,
  syncing: false,
  offline: false,
  lastSyncedAt: null,
  lastError: null,
  syncNow: () => {},
};

export const SyncStateContext = createContext<SyncState>(NO_SYNC);

export function useSyncState(): SyncState {
  return useContext(SyncStateContext);
}
