import axe from "axe-core";
import { expect } from "vitest";

/** No serious or critical axe-core violations under `node` (contrast needs real layout). */
export async function expectNoSeriousA11yViolations(node: Element = document.body) {
  const results = await axe.run(node, {
    rules: {
      "color-contrast": { enabled: false },
    },
    resultTypes: ["violations"],
  });
  const serious = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(serious).toEqual([]);
}
