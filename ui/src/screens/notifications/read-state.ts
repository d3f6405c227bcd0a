/**
 * Which notifications this user has read, kept in the window's localStorage per account:
 * the server derives notifications and keeps no read state, and what was read is no
 * secret (keys name a kind, an id and a time).
 */
const MAX_KEYS = 1000;

function storageKey(account: string): string {
  return `countersign.notifications.read.${account}`;
}

export function readKeys(account: string): Set<string> {
  try {
    const raw = window.localStorage.getItem(storageKey(account));
    const list: unknown = raw ? JSON.parse(raw) : [];
    return new Set(Array.isArray(list) ? list.filter((k): k is string => typeof k === "string") : []);
  } catch {
    return new Set();
  }
}

export function saveReadKeys(account: string, keys: Set<string>) {
  // The newest keys are the ones still listed: the server lists at most 200.
  const list = [...keys].slice(-MAX_KEYS);
  try {
    window.localStorage.setItem(storageKey(account), JSON.stringify(list));
  } catch {
    // Storage full or unavailable: read state lasts until the window closes.
  }
}
