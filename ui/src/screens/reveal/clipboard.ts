/**
 * Copying a revealed value: the clipboard is cleared after 30 s if it still holds the value
 * (best effort). When the clipboard cannot be read, it is cleared anyway: leaving a secret
 * there is worse than losing something copied later.
 */
export const CLIPBOARD_CLEAR_MS = 30_000;

export async function copyRevealed(value: string): Promise<void> {
  await navigator.clipboard.writeText(value);
  window.setTimeout(() => void clearIfUnchanged(value), CLIPBOARD_CLEAR_MS);
}

async function clearIfUnchanged(value: string) {
  try {
    let current: string | null = null;
    try {
      current = await navigator.clipboard.readText();
    } catch {
      current = null;
    }
    if (current === null || current === value) await navigator.clipboard.writeText("");
  } catch {
    // The clipboard is unavailable: nothing more can be done.
  }
}
