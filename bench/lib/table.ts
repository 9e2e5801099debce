// Table specifications and their markdown rendering. A table is a list of
// systems (rows, one case file each) times a list of tasks (columns); every
// cell is one fresh case process. Adding a benchmark section means adding a
// TableSpec in run.ts (and its case files), nothing here.

import type { TaskResult } from "./protocol.ts";

export interface RowSpec {
  /** Stable id, used for ratios (`ratioTo`) and command-line filtering. */
  id: string;
  /** What the table shows. */
  label: string;
  /** Case file, relative to bench/cases/. */
  file: string;
  /** Smaller problem sizes for systems too slow for the default (shown in the cell). */
  sizes?: Readonly<Record<string, number>>;
  /** Tasks not run for this system, with the reason (shown under the table). */
  skip?: Readonly<Record<string, string>>;
}

export interface ColumnSpec {
  /** Task name passed to the case process. */
  task: string;
  header: string;
  /** Default problem size, passed to every row that does not override it. */
  size: number;
  /** Id of the row the ratio column divides by; no ratio column when absent. */
  ratioTo?: string;
  /**
   * How the ratio column reads (default "ratio"): "ratio" is this row's value over the base
   * row's, in the unit shown (so for a per-second column, higher is faster); "speedup" is the
   * base row's time over this row's.
   */
  ratio?: "ratio" | "speedup";
  /**
   * How a time cell is shown (default "ns": ns per unit): "us" and "ms" scale it, "perSecond"
   * shows units per second (1e9 / ns per unit).
   */
  show?: "ns" | "us" | "ms" | "perSecond";
  /** Extra node flags for this task's processes. */
  nodeArgs?: readonly string[];
  timeoutMs: number;
}

export interface TableSpec {
  title: string;
  rows: readonly RowSpec[];
  columns: readonly ColumnSpec[];
  /** Lines printed under the table (what was measured and how). */
  notes?: readonly string[];
}

export type Cell = TaskResult | { kind: "skipped"; reason: string };

export function cellKey(row: RowSpec, column: ColumnSpec): string {
  return `${row.id}\u0000${column.task}`;
}

export function sizeFor(row: RowSpec, column: ColumnSpec): number {
  return row.sizes?.[column.task] ?? column.size;
}

/** 100000 → "100k", 1500 → "1.5k". */
export function formatCount(n: number): string {
  if (n >= 1_000_000 && n % 100_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 100 === 0) return `${n / 1_000}k`;
  return String(n);
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "—";
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(1);
}

function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return "—";
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)}×`;
}

/** Keeps a message inside one markdown cell. */
function escapeCell(text: string, max = 120): string {
  const oneLine = text.replace(/\s+/g, " ").replace(/\|/g, "\\|");
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

const isOverflow = (message: string): boolean => message.includes("Maximum call stack size exceeded");

/** The number a ratio is computed from, if the cell has one. */
function numericValue(cell: Cell | undefined): number | undefined {
  if (cell?.kind === "time") return cell.nsPerUnit;
  if (cell?.kind === "bytes") return cell.bytesPerUnit;
  return undefined;
}

/** A time in the unit the column shows. */
function shownTime(nsPerUnit: number, column: ColumnSpec): number {
  switch (column.show ?? "ns") {
    case "ns":
      return nsPerUnit;
    case "us":
      return nsPerUnit / 1e3;
    case "ms":
      return nsPerUnit / 1e6;
    case "perSecond":
      return 1e9 / nsPerUnit;
  }
}

/** The ratio cell: this row's value over the base row's, or the base row's time over this row's. */
function ratioOf(value: number, baseValue: number, cell: Cell | undefined, column: ColumnSpec): number {
  if (column.ratio === "speedup") return baseValue / value;
  // A per-second column compares rates: the inverse of the times' ratio.
  if (cell?.kind === "time" && column.show === "perSecond") return baseValue / value;
  return value / baseValue;
}

function formatCell(cell: Cell | undefined, row: RowSpec, column: ColumnSpec): string {
  if (cell === undefined) return "not run";
  const size = sizeFor(row, column);
  const sizeNote = size === column.size ? "" : ` (n=${formatCount(size)})`;
  switch (cell.kind) {
    case "time":
      return `${formatNumber(shownTime(cell.nsPerUnit, column))}${sizeNote}`;
    case "bytes":
      return `${formatNumber(cell.bytesPerUnit)}${sizeNote}`;
    case "outcome":
      return cell.ok ? `ok, ${formatNumber(cell.ms)} ms${sizeNote}` : `${escapeCell(cell.status)}${sizeNote}`;
    case "skipped":
      return "skipped";
    case "error":
      return isOverflow(cell.message) ? "stack overflow" : `error: ${escapeCell(cell.message)}`;
  }
}

export function renderTable(spec: TableSpec, cells: ReadonlyMap<string, Cell>): string {
  const header = ["System"];
  for (const column of spec.columns) {
    header.push(column.header);
    // Ids, not labels: the ratio headers stay short.
    if (column.ratioTo !== undefined)
      header.push(column.ratio === "speedup" ? `speedup vs ${column.ratioTo}` : `× ${column.ratioTo}`);
  }
  const lines = [
    `### ${spec.title}`,
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
  ];
  const skipped: string[] = [];
  for (const row of spec.rows) {
    const out = [escapeCell(row.label)];
    for (const column of spec.columns) {
      const cell = cells.get(cellKey(row, column));
      out.push(formatCell(cell, row, column));
      if (cell?.kind === "skipped") skipped.push(`${row.label}, ${column.header}: ${cell.reason}`);
      if (column.ratioTo !== undefined) {
        const base = spec.rows.find((r) => r.id === column.ratioTo);
        const value = numericValue(cell);
        const baseValue = base === undefined ? undefined : numericValue(cells.get(cellKey(base, column)));
        out.push(
          value === undefined || baseValue === undefined
            ? "—"
            : formatRatio(ratioOf(value, baseValue, cell, column)),
        );
      }
    }
    lines.push(`| ${out.join(" | ")} |`);
  }
  const notes = [...(spec.notes ?? []), ...skipped.map((s) => `Skipped: ${s}.`)];
  if (notes.length > 0) lines.push("", ...notes.map((n) => `- ${n}`));
  return lines.join("\n");
}
