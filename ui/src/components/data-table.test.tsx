import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createColumnHelper, type SortingState } from "@tanstack/react-table";
import { DataTable } from "./data-table";
import { expectNoSeriousA11yViolations } from "@/test/axe";

type Row = { id: string; name: string; amount: number; note: string };
const col = createColumnHelper<Row>();
const columns = [
  col.accessor("name", { header: "Name" }),
  col.accessor("amount", { header: "Amount", meta: { align: "right" } }),
  col.accessor("note", { header: "Note" }),
];
const DATA: Row[] = [
  { id: "a", name: "beta", amount: 10, note: "" },
  { id: "b", name: "Alpha", amount: 2, note: "x" },
  { id: "c", name: "alpha", amount: 2, note: "y" },
  { id: "d", name: "Gamma", amount: 100, note: "z" },
];

function Harness({ onOpen = () => {} }: { onOpen?: (row: Row) => void }) {
  const [sorting, setSorting] = useState<SortingState>([{ id: "name", desc: false }]);
  const [selected, setSelected] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  return (
    <>
      <input aria-label="filter" value={filter} onChange={(e) => setFilter(e.target.value)} />
      <DataTable
        data={DATA}
        columns={columns}
        getRowId={(r) => r.id}
        filterText={(r) => `${r.name} ${r.note}`}
        filter={filter}
        sorting={sorting}
        onSortingChange={setSorting}
        selectedId={selected}
        onSelectedIdChange={setSelected}
        onOpen={onOpen}
        label="Things"
        describeRow={(r) => r.name}
        noMatches={<p>No match</p>}
      />
    </>
  );
}

const ids = () => screen.getAllByTestId("row").map((r) => r.dataset.recordId);

describe("DataTable", () => {
  it("sorts text case-insensitively (stable), numbers numerically, empty values last", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    expect(ids()).toEqual(["b", "c", "a", "d"]);
    // Numbers start with the largest (TanStack's default for numeric columns).
    await user.click(screen.getByRole("button", { name: /Amount/ }));
    expect(ids()).toEqual(["d", "a", "b", "c"]);
    await user.click(screen.getByRole("button", { name: /Amount/ }));
    expect(ids()).toEqual(["b", "c", "a", "d"]);
    await user.click(screen.getByRole("button", { name: /Note/ }));
    expect(ids()).toEqual(["b", "c", "d", "a"]);
    await expectNoSeriousA11yViolations();
  });

  it("filters on the row text and says when nothing matches", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    await user.type(screen.getByLabelText("filter"), "ALPHA");
    expect(ids()).toEqual(["b", "c"]);
    await user.type(screen.getByLabelText("filter"), "zzz");
    expect(screen.getByText("No match")).toBeInTheDocument();
  });

  it("j/k move the selection, Enter opens, and the selection is announced", async () => {
    const user = userEvent.setup();
    const onOpen = vi.fn();
    render(<Harness onOpen={onOpen} />);
    await user.keyboard("jjjjj");
    expect(screen.getAllByTestId("row")[3]).toHaveAttribute("data-state", "selected");
    await user.keyboard("kk");
    const selected = screen.getAllByTestId("row")[1]!;
    expect(selected).toHaveAttribute("aria-current", "true");
    expect(screen.getByText("alpha, row 2 of 4")).toBeInTheDocument();
    await user.keyboard("{Enter}");
    expect(onOpen).toHaveBeenCalledWith(DATA[2]);
    // Typing in a field is not a shortcut: "k" goes into the filter, the selection stays.
    await user.type(screen.getByLabelText("filter"), "k");
    expect(screen.getByLabelText("filter")).toHaveValue("k");
    await user.clear(screen.getByLabelText("filter"));
    expect(screen.getAllByTestId("row")[1]).toHaveAttribute("data-state", "selected");
    expect(within(screen.getAllByTestId("row")[1]!).getAllByRole("cell")[0]).toHaveTextContent("alpha");
  });
});
