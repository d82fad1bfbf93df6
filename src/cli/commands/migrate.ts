/**
 * `taskledger migrate [--check] [--history | --no-history] [--archive] [--widen] [--distribute]`:
 * apply pending migrations (idempotent), or report them; switch the history triggers on or off;
 * create the archive tier; widen columns a Celery table made too narrow; distribute the tables on a
 * Citus coordinator.
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
  /** Then distribute the tables on a Citus coordinator. */
  distribute?: boolean;
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
      // Last: the archive's tables, when just created, are distributed with the others.
      const distributed = options.distribute ? await backend.distribute() : undefined;
      if (distributed && !deps.json)
        deps.out.err(
          distributed.distributed.length === 0 && distributed.ran.length === 0
            ? `${backend.url}: already distributed (Citus ${distributed.citusVersion}, ${distributed.already.length} tables)`
            : `${backend.url}: distributed ${distributed.distributed.length} tables by task id, co-located (Citus ${distributed.citusVersion}${distributed.already.length > 0 ? `; ${distributed.already.length} were already` : ""}); history and waking in their Citus form`,
        );
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
            ...(distributed ? { distributed } : {}),
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
