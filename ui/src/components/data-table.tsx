import {
  flexRender,
  getCoreRowModel,
  getFilteredRowModel,
  useReactTable,
  type ColumnDef,
  type FilterFn,
  type OnChangeFn,
  type Row,
  type RowSelectionState,
  type SortingState,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ArrowDownIcon, ArrowUpDownIcon, ArrowUpIcon } from "lucide-react";
import { useCallback, useEffect, useMemo, useRef, type ReactNode } from "react";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
} from "@/components/ui/table";
import { Checkbox } from "@/components/ui/checkbox";
import { getFlatSortedRowModel } from "@/components/data-table-sort";
import { isOverlayOpen, isTypingTarget } from "@/lib/keyboard";
import { cn } from "@/lib/utils";

declare module "@tanstack/react-table" {
  interface ColumnMeta<TData, TValue> {
    /** Column width, e.g. "30%" or "120px" (the table lays out fixed). */
    width?: string;
    align?: "left" | "right";
    className?: string;
  }
}

/** Every row is exactly this tall (h-9 cells; the collapsed 1px border sits inside), as the virtualizer assumes. */
const ROW_HEIGHT = 36;

export type DataTableProps<T> = {
  data: T[];
  columns: ColumnDef<T, any>[];
  getRowId: (row: T) => string;
  /** The words the filter matches: computed once per row. */
  filterText: (row: T) => string;
  filter: string;
  sorting: SortingState;
  onSortingChange: (sorting: SortingState) => void;
  selectedId: string | null;
  onSelectedIdChange: (id: string | null) => void;
  onOpen: (row: T) => void;
  /** Names the table for assistive technology. */
  label: string;
  /** What to show when the filter matches nothing. */
  noMatches: ReactNode;
  /** j/k and arrows move the selection, Enter opens (only the visible table sets this). */
  keyboard?: boolean;
  /** The row title for the live announcement of the selection. */
  describeRow?: (row: T) => string;
  className?: string;
  /**
   * Rows ticked for a bulk action (by row id). With `onRowSelectionChange` the table gets a
   * checkbox column, and X ticks the current row.
   */
  rowSelection?: RowSelectionState;
  onRowSelectionChange?: (selection: RowSelectionState) => void;
};

/** The checkbox column of a table whose rows can be ticked. */
function selectColumn<T>(label: string): ColumnDef<T, unknown> {
  return {
    id: "select",
    meta: { width: "40px" },
    enableSorting: false,
    header: ({ table }) => (
      <Checkbox
        checked={table.getIsAllRowsSelected() ? true : table.getIsSomeRowsSelected() ? "indeterminate" : false}
        onCheckedChange={(v) => table.toggleAllRowsSelected(v === true)}
        aria-label={`Select every row shown in ${label}`}
        data-testid="select-all"
      />
    ),
    cell: ({ row }) => (
      <Checkbox
        checked={row.getIsSelected()}
        onCheckedChange={(v) => row.toggleSelected(v === true)}
        onClick={(e) => e.stopPropagation()}
        aria-label="Select this row"
        data-testid="select-row"
      />
    ),
  };
}

/**
 * A virtualized, sortable, filterable table (TanStack Table + Virtual) that stays smooth with
 * 100,000 rows: only the visible rows are in the DOM, between two spacer rows.
 */
export function DataTable<T>({
  data,
  columns,
  getRowId,
  filterText,
  filter,
  sorting,
  onSortingChange,
  selectedId,
  onSelectedIdChange,
  onOpen,
  label,
  noMatches,
  keyboard = true,
  describeRow,
  className,
  rowSelection,
  onRowSelectionChange,
}: DataTableProps<T>) {
  const scrollRef = useRef<HTMLDivElement>(null);

  // Lower-cased filter text per row, computed on the first filter and kept per data set.
  const texts = useMemo(() => new WeakMap<object, string>(), [data]);
  const textOf = useRef(filterText);
  textOf.current = filterText;

  const globalFilterFn = useCallback<FilterFn<T>>(
    (row, _columnId, value: string) => {
      const key = row.original as object;
      let text = texts.get(key);
      if (text === undefined) {
        text = textOf.current(row.original).toLowerCase();
        texts.set(key, text);
      }
      return text.includes(value.toLowerCase());
    },
    [texts],
  );

  const handleSorting: OnChangeFn<SortingState> = (updater) =>
    onSortingChange(typeof updater === "function" ? updater(sorting) : updater);

  const selectable = !!onRowSelectionChange;
  const allColumns = useMemo(
    () => (selectable ? [selectColumn<T>(label), ...columns] : columns),
    [selectable, label, columns],
  );
  const handleSelection: OnChangeFn<RowSelectionState> = (updater) =>
    onRowSelectionChange?.(typeof updater === "function" ? updater(rowSelection ?? {}) : updater);

  const table = useReactTable({
    data,
    columns: allColumns,
    getRowId: (row) => getRowId(row),
    state: { sorting, globalFilter: filter.trim(), rowSelection: rowSelection ?? {} },
    onSortingChange: handleSorting,
    enableRowSelection: selectable,
    onRowSelectionChange: handleSelection,
    globalFilterFn,
    // One filter call per row: the row's text already covers every column.
    getColumnCanGlobalFilter: (column) => column.getIndex() === (selectable ? 1 : 0),
    getCoreRowModel: getCoreRowModel(),
    getFilteredRowModel: getFilteredRowModel(),
    getSortedRowModel: getFlatSortedRowModel(),
    enableSortingRemoval: false,
  });

  const rows = table.getRowModel().rows;
  const selectedIndex = useMemo(
    () => (selectedId === null ? -1 : rows.findIndex((r) => r.id === selectedId)),
    [rows, selectedId],
  );

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });

  // Keep the selected row in view (keyboard moves, or a row chosen in the search palette).
  useEffect(() => {
    if (selectedIndex >= 0) virtualizer.scrollToIndex(selectedIndex, { align: "auto" });
  }, [selectedIndex, virtualizer]);

  const move = useCallback(
    (delta: number) => {
      if (rows.length === 0) return;
      const from = selectedIndex < 0 ? (delta > 0 ? -1 : rows.length) : selectedIndex;
      const next = Math.min(rows.length - 1, Math.max(0, from + delta));
      onSelectedIdChange(rows[next]!.id);
    },
    [rows, selectedIndex, onSelectedIdChange],
  );

  useEffect(() => {
    if (!keyboard) return;
    const onKeyDown = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      if (isTypingTarget(e.target) || isOverlayOpen()) return;
      const target = e.target as HTMLElement | null;
      const onTableOrPage =
        !target ||
        target === document.body ||
        (scrollRef.current?.contains(target) ?? false);
      switch (e.key) {
        case "j":
          move(1);
          break;
        case "k":
          move(-1);
          break;
        case "ArrowDown":
          if (!onTableOrPage) return;
          move(1);
          break;
        case "ArrowUp":
          if (!onTableOrPage) return;
          move(-1);
          break;
        case "PageDown":
          if (!onTableOrPage) return;
          move(10);
          break;
        case "PageUp":
          if (!onTableOrPage) return;
          move(-10);
          break;
        case "Enter": {
          if (!onTableOrPage) return;
          const row = rows[selectedIndex];
          if (!row) return;
          onOpen(row.original);
          break;
        }
        case "x": {
          const row = rows[selectedIndex];
          if (!selectable || !row) return;
          row.toggleSelected();
          break;
        }
        default:
          return;
      }
      e.preventDefault();
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [keyboard, move, onOpen, rows, selectedIndex, selectable]);

  const items = virtualizer.getVirtualItems();
  const paddingTop = items.length > 0 ? items[0]!.start : 0;
  const paddingBottom =
    items.length > 0 ? virtualizer.getTotalSize() - items[items.length - 1]!.end : 0;
  const columnCount = table.getVisibleLeafColumns().length;
  const selectedRow: Row<T> | undefined = rows[selectedIndex];

  return (
    <div className={cn("flex min-h-0 flex-1 flex-col", className)}>
      <div
        ref={scrollRef}
        data-virtual-scroll=""
        tabIndex={0}
        role="region"
        aria-label={`${label}: use J and K or the arrow keys to move, Enter to open`}
        className="focus-visible:ring-ring/60 relative min-h-0 flex-1 overflow-auto rounded-md border outline-none focus-visible:ring-[3px]"
      >
        <Table className="table-fixed" aria-label={label} aria-rowcount={rows.length + 1}>
          <colgroup>
            {table.getVisibleLeafColumns().map((column) => (
              <col key={column.id} style={{ width: column.columnDef.meta?.width }} />
            ))}
          </colgroup>
          <TableHeader className="bg-background sticky top-0 z-10 shadow-[0_1px_0_var(--border)]">
            {table.getHeaderGroups().map((group) => (
              <TableRow key={group.id} className="border-b-0 hover:bg-transparent" aria-rowindex={1}>
                {group.headers.map((header) => {
                  const meta = header.column.columnDef.meta;
                  const sorted = header.column.getIsSorted();
                  const canSort = header.column.getCanSort();
                  const title = flexRender(header.column.columnDef.header, header.getContext());
                  return (
                    <TableHead
                      key={header.id}
                      aria-sort={
                        sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : undefined
                      }
                      className={cn(meta?.align === "right" && "text-right")}
                    >
                      {canSort ? (
                        <button
                          type="button"
                          onClick={header.column.getToggleSortingHandler()}
                          className={cn(
                            "hover:text-foreground focus-visible:ring-ring/60 -mx-1 inline-flex items-center gap-1 rounded px-1 py-0.5 outline-none focus-visible:ring-[3px]",
                            meta?.align === "right" && "flex-row-reverse",
                            sorted && "text-foreground",
                          )}
                        >
                          {title}
                          {sorted === "asc" ? (
                            <ArrowUpIcon className="size-3" aria-hidden="true" />
                          ) : sorted === "desc" ? (
                            <ArrowDownIcon className="size-3" aria-hidden="true" />
                          ) : (
                            <ArrowUpDownIcon className="size-3 opacity-40" aria-hidden="true" />
                          )}
                        </button>
                      ) : (
                        title
                      )}
                    </TableHead>
                  );
                })}
              </TableRow>
            ))}
          </TableHeader>
          <TableBody>
            {paddingTop > 0 && (
              <tr aria-hidden="true">
                <td colSpan={columnCount} style={{ height: paddingTop, padding: 0 }} />
              </tr>
            )}
            {items.map((item) => {
              const row = rows[item.index]!;
              const selected = item.index === selectedIndex;
              return (
                <TableRow
                  key={row.id}
                  data-testid="row"
                  data-record-id={row.id}
                  data-state={selected ? "selected" : undefined}
                  aria-current={selected ? "true" : undefined}
                  aria-rowindex={item.index + 2}
                  className={cn("cursor-default", selected && "bg-selection")}
                  onClick={() => {
                    onSelectedIdChange(row.id);
                    onOpen(row.original);
                  }}
                >
                  {row.getVisibleCells().map((cell) => {
                    const meta = cell.column.columnDef.meta;
                    return (
                      <TableCell
                        key={cell.id}
                        className={cn(
                          "h-9 overflow-hidden py-0 text-ellipsis",
                          meta?.align === "right" && "text-right",
                          meta?.className,
                        )}
                      >
                        {flexRender(cell.column.columnDef.cell, cell.getContext())}
                      </TableCell>
                    );
                  })}
                </TableRow>
              );
            })}
            {paddingBottom > 0 && (
              <tr aria-hidden="true">
                <td colSpan={columnCount} style={{ height: paddingBottom, padding: 0 }} />
              </tr>
            )}
          </TableBody>
        </Table>
        {rows.length === 0 && <div className="py-2">{noMatches}</div>}
      </div>
      <div className="sr-only" aria-live="polite">
        {selectedRow && describeRow
          ? `${describeRow(selectedRow.original)}, row ${selectedIndex + 1} of ${rows.length}`
          : ""}
      </div>
    </div>
  );
}
