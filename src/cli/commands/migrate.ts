/**
 * `taskledger migrate [--check] [--history | --no-history] [--widen]`: apply pending migrations
 * (idempotent), or report them; switch the history triggers on or off; widen columns a Celery
 * table made too narrow.
 */
import { EXIT } from "../exit-codes.js";
import { withBackend, type CommandDeps } from "../open.js";

export interface MigrateOptions {
  check?: boolean;
  /** true: install the history triggers; false: drop them; undefined: leave them. */
  history?: boolean;
  /** Also create the archive tier. */
  archive?: boolean;
  /** Also widen value and time columns narrower than taskledger's (MySQL tables Celery created). */
  widen?: boolean;
}

export async function run(options: MigrateOptions, deps: CommandDeps): Promise<number> {
  return withBackend(
    deps,
    async (backend) => {
      const before = await backend.migrationStatus();
      if (options.check) {
        if (deps.json)
          deps.out.out(JSON.stringify({ url: backend.url, applied: before.applied, pending: before.pending, planned: before.planned }));
        else if (before.pending.length === 0) deps.out.out(`${backend.url}: up to date (${before.applied.length} migrations applied)`);
        else
          deps.out.out(
            `${backend.url}: ${before.pending.length} pending: ${before.pending.join(", ")}; migrate would run:\n${before.planned.map((s) => `  ${s.replace(/\s+/g, " ")}`).join("\n")}`,
          );
        return before.pending.length === 0 ? EXIT.OK : EXIT.FAILURE;
      }
      const after = await backend.migrate();
      const appliedNow = after.applied.filter((tag) => !before.applied.includes(tag));
      const switched = options.history === undefined ? false : await backend.setHistory(options.history);
      const history = await backend.historyEnabled();
      const widened = options.widen ? await backend.widenColumns() : [];
      if (options.archive) {
        await backend.createArchive();
        if (!deps.json) deps.out.err(`${backend.url}: archive tier ready (backend-cleanup --archive-after moves finished rows into it)`);
      }
      if (deps.json)
        deps.out.out(
          JSON.stringify({
            url: backend.url,
            applied: after.applied,
            appliedNow,
            pending: after.pending,
            ran: after.planned,
            history,
            ...(options.widen ? { widened } : {}),
          }),
        );
      else {
        deps.out.out(
          appliedNow.length === 0
            ? `${backend.url}: already up to date (${after.applied.length} migrations applied)`
            : `${backend.url}: applied ${appliedNow.join(", ")}`,
        );
        if (options.widen)
          deps.out.out(
            widened.length === 0
              ? "no column narrower than taskledger's: nothing to widen"
              : `widened: ${widened.map((w) => w.replace(/\s+/g, " ")).join("; ")}`,
          );
        if (switched)
          deps.out.out(
            `history switched ${history ? "on: every state change is recorded from now on" : "off: no state change is recorded; rows already kept stay until their task goes"}`,
          );
      }
      return EXIT.OK;
    },
    { migrate: false, create: !options.check },
  );
}
