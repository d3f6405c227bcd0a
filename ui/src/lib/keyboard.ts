/** True when a key press belongs to a text field (shortcuts must not steal it). */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") {
    const type = (target as HTMLInputElement).type;
    return !["button", "checkbox", "radio", "submit", "reset"].includes(type);
  }
  return false;
}

/** True while a modal layer (dialog, sheet, menu, palette) is open: page shortcuts pause. */
export function isOverlayOpen(): boolean {
  return !!document.querySelector(
    '[role="dialog"][data-state="open"], [role="alertdialog"][data-state="open"], [role="menu"][data-state="open"]',
  );
}

/** A shortcut may act on this key event (no modifier, not typing, no overlay open). */
export function isPlainShortcut(e: KeyboardEvent): boolean {
  return !e.ctrlKey && !e.metaKey && !e.altKey && !e.defaultPrevented && !isTypingTarget(e.target) && !isOverlayOpen();
}

/** The shortcuts the `?` dialog lists. `join` says how the keys combine. */
export const SHORTCUTS: { keys: string[]; join: "+" | "then" | "or"; label: string }[] = [
  { keys: ["Ctrl", "K"], join: "+", label: "Find a customer, user, invoice, vendor or payment" },
  { keys: ["G", "H"], join: "then", label: "Go to Home" },
  { keys: ["G", "C"], join: "then", label: "Go to Customers" },
  { keys: ["G", "V"], join: "then", label: "Go to the customer's view (in a support session)" },
  { keys: ["G", "A"], join: "then", label: "Go to Approvals" },
  { keys: ["G", "R"], join: "then", label: "Go to Support sessions (review)" },
  { keys: ["G", "L"], join: "then", label: "Go to the Audit log" },
  { keys: ["G", "T"], join: "then", label: "Go to Staff access" },
  { keys: ["G", "S"], join: "then", label: "Go to Settings" },
  { keys: ["J", "↓"], join: "or", label: "Next row" },
  { keys: ["K", "↑"], join: "or", label: "Previous row" },
  { keys: ["Enter"], join: "+", label: "Open the selected row" },
  { keys: ["X"], join: "+", label: "Tick the selected row (lists with bulk actions)" },
  { keys: ["/"], join: "+", label: "Filter the current table" },
  { keys: ["Esc"], join: "+", label: "Close a dialog or panel" },
  { keys: ["?"], join: "+", label: "Show these shortcuts" },
  { keys: ["Ctrl", "Q"], join: "+", label: "Quit (ends a support session first)" },
];
