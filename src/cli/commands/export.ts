/**
 * `taskledger export --format jsonl|csv`: every matching row, streamed a page at a time with
 * stdout's backpressure, so memory stays flat for any number of rows.
 */
import { ConfigError } from "../../errors.js";
import { withBackend, type CommandDeps } from "../open.js";
import { queryFrom, type FilterOptions } from "../options.js";
import { EXIT } from "../exit-codes.js";
import { CSV_COLUMNS, csvLine, taskRecord } from "../../backend/task-records.js";

export interface ExportOptions extends FilterOptions {
  format?: string;
}

export async function run(options: ExportOptions, deps: CommandDeps): Promise<number> {
  const format = options.format ?? "jsonl";
  if (format !== "jsonl" && format !== "csv") throw new ConfigError("--format", `expected jsonl or csv, got "${format}"`);
  const query = queryFrom(options);
  return withBackend(deps, async (backend) => {
    let count = 0;
    let corrupt = 0;
    if (format === "csv") await deps.out.write(`${CSV_COLUMNS.join(",")}\n`);
    for await (const entry of backend.audit.iterate(query)) {
      const record = taskRecord(entry);
      if (entry.corrupt) corrupt++;
      await deps.out.write(format === "csv" ? csvLine(record) : `${JSON.stringify(record)}\n`);
      count++;
    }
    deps.out.err(`exported ${count} tasks${corrupt > 0 ? ` (${corrupt} with undecodable values: see their "error" field)` : ""}`);
    return EXIT.OK;
  });
}
