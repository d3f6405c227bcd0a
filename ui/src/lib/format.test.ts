import { describe, expect, it } from "vitest";
import {
  formatBytes,
  formatCount,
  formatCountdown,
  formatMoney,
  formatRelative,
  humanize,
  initials,
  parseAmount,
} from "./format";

describe("format", () => {
  it("formats money with grouping, fixed decimals and the currency after", () => {
    expect(formatMoney({ amount_minor: 2966570, currency: "EUR" })).toBe("29,665.70 EUR");
    expect(formatMoney({ amount_minor: -120000, currency: "USD" })).toBe("-1,200.00 USD");
    expect(formatMoney({ amount_minor: 5, currency: "EUR" })).toBe("0.05 EUR");
    expect(formatMoney({ amount_minor: 1500, currency: "JPY" })).toBe("1,500 JPY");
  });

  it("formats counts and sizes", () => {
    expect(formatCount(100000)).toBe("100,000");
    expect(formatBytes(1)).toBe("1 byte");
    expect(formatBytes(999)).toBe("999 bytes");
    expect(formatBytes(1_400_000)).toBe("1.4 MB");
    expect(formatBytes(48_200_000)).toBe("48 MB");
  });

  it("formats relative times", () => {
    const now = new Date("2026-01-10T12:00:00Z");
    expect(formatRelative("2026-01-10T11:59:50Z", now)).toBe("just now");
    expect(formatRelative("2026-01-10T11:57:00Z", now)).toBe("3 min ago");
    expect(formatRelative("2026-01-10T10:00:00Z", now)).toBe("2 h ago");
    expect(formatRelative("2026-01-09T11:00:00Z", now)).toBe("yesterday");
    expect(formatRelative("2026-01-06T12:00:00Z", now)).toBe("4 days ago");
    expect(formatRelative("2026-01-10T12:05:00Z", now)).toBe("in 5 min");
  });

  it("formats countdowns, initials and identifiers", () => {
    expect(formatCountdown(60)).toBe("01:00");
    expect(formatCountdown(7.2)).toBe("00:08");
    expect(formatCountdown(-3)).toBe("00:00");
    expect(initials("Alice Example")).toBe("AE");
    expect(initials("sam")).toBe("S");
    expect(humanize("finance_approver")).toBe("Finance approver");
  });

  it("reads a typed amount into minor units, and refuses what is not one", () => {
    expect(parseAmount("1200", "EUR")).toBe(120000);
    expect(parseAmount(" 1,200.5 ", "EUR")).toBe(120050);
    expect(parseAmount("30,000.00", "EUR")).toBe(3000000);
    expect(parseAmount("0.07", "USD")).toBe(7);
    expect(parseAmount("1500", "JPY")).toBe(1500);
    for (const bad of ["", "abc", "-5", "1.234", "1e5", "12,34.00", "1 200"]) {
      expect(parseAmount(bad, "EUR")).toBeNull();
    }
    expect(parseAmount("10.5", "JPY")).toBeNull();
  });
});
