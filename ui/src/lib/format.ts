import type { Money } from "@/bindings/types";

// One locale for numbers and money so every screen reads the same (`29,665.70 EUR`).
const NUMBER_LOCALE = "en-US";

const fractionDigitsCache = new Map<string, number>();
/** Digits after the decimal point in `currency` (EUR 2, JPY 0). */
export function currencyDigits(currency: string): number {
  let digits = fractionDigitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits =
        new Intl.NumberFormat(NUMBER_LOCALE, { style: "currency", currency }).resolvedOptions()
          .maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    fractionDigitsCache.set(currency, digits);
  }
  return digits;
}

const amountFormats = new Map<number, Intl.NumberFormat>();
/** The amount without the currency: `29,665.70`. */
export function formatAmount(money: Money): string {
  const digits = currencyDigits(money.currency);
  let fmt = amountFormats.get(digits);
  if (!fmt) {
    fmt = new Intl.NumberFormat(NUMBER_LOCALE, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    amountFormats.set(digits, fmt);
  }
  return fmt.format(money.amount_minor / 10 ** digits);
}

/**
 * Minor units from what someone typed in major units ("1200", "1,200.50"),
 * or null when it is not an amount in `currency` (more decimals than it has,
 * letters, a sign). Grouping commas are allowed, as the app shows them.
 */
export function parseAmount(text: string, currency: string): number | null {
  const digits = currencyDigits(currency);
  const t = text.trim().replace(/,(?=\d{3}(\D|$))/g, "");
  const m = /^(\d{1,13})(?:\.(\d*))?$/.exec(t);
  if (!m || (m[2] ?? "").length > digits) return null;
  const minor = Number(m[1]) * 10 ** digits + Number((m[2] ?? "").padEnd(digits, "0") || "0");
  return Number.isSafeInteger(minor) ? minor : null;
}

/** Amount then currency code: `29,665.70 EUR`. */
export function formatMoney(money: Money): string {
  return `${formatAmount(money)} ${money.currency}`;
}

const integer = new Intl.NumberFormat(NUMBER_LOCALE);
/** `12,340` */
export function formatCount(n: number): string {
  return integer.format(n);
}

/** `1.4 MB`: decimal units, one decimal below 10. */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${formatCount(value)} ${value === 1 ? "byte" : "bytes"}`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

function toDate(value: string | Date): Date {
  return value instanceof Date ? value : new Date(value);
}

/** Local date and time: `6 Dec 2025, 14:03` (in the user's locale). */
export function formatDateTime(value: string | Date): string {
  return absolute.format(toDate(value));
}

/** Local date: `6 Dec 2025`. */
export function formatDate(value: string | Date): string {
  return dateOnly.format(toDate(value));
}

/** Local time of day: `14:03`. */
export function formatTime(value: string | Date): string {
  return timeOnly.format(toDate(value));
}

/** `just now`, `3 min ago`, `2 h ago`, `yesterday`, `4 days ago`, `in 5 min`, else the date. */
export function formatRelative(value: string | Date, now: Date = new Date()): string {
  const date = toDate(value);
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  const wrap = (text: string) => (future ? `in ${text}` : `${text} ago`);
  if (s < 45) return future ? "in a moment" : "just now";
  const minutes = Math.round(s / 60);
  if (minutes < 60) return wrap(`${minutes} min`);
  const hours = Math.round(s / 3600);
  if (hours < 24) return wrap(`${hours} h`);
  const days = Math.round(s / 86400);
  if (days === 1) return future ? "tomorrow" : "yesterday";
  if (days < 7) return wrap(`${days} days`);
  return formatDate(date);
}

/** `mm:ss` for countdowns. */
export function formatCountdown(totalSeconds: number): string {
  const s = Math.max(0, Math.ceil(totalSeconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/** "Alice Example" → "AE" */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0]![0], parts[parts.length - 1]![0]] : [parts[0]?.[0]];
  return letters.filter(Boolean).join("").toUpperCase() || "?";
}

/** "finance_approver" → "Finance approver" */
export function humanize(identifier: string): string {
  const words = identifier.replace(/[_:-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
