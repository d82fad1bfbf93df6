/** Plain-text tables, bar charts and a progress line for the terminal. */
import { elapsedText } from "../cleanup/duration-text.js";

export { elapsedText as formatDuration };

export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? "" : String(cell))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

export function bar(value: number, max: number, width = 20): string {
  if (max <= 0) return "";
  const filled = Math.round((value / max) * width);
  return "█".repeat(filled) + "·".repeat(width - filled);
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** "[#####-----]  45%  12,345/27,000 rows  8,200 rows/s  ETA 2 s" */
export function progressLine(done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const width = 24;
  const filled = Math.round(fraction * width);
  const eta = rate > 0 && total > done ? `ETA ${elapsedText(((total - done) / rate) * 1000)}` : "";
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%  ${formatCount(done)}/${formatCount(total)} rows  ${formatCount(Math.round(rate))} rows/s  ${eta}`.trimEnd();
}

/** An ISO timestamp without milliseconds, or an empty cell. */
export function isoTime(date: Date | null | undefined): string {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, "Z") : "";
}
