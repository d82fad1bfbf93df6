/** `taskledger migrate [--check]`: apply pending migrations (idempotent), or report them. */
import { EXIT } from "../exit-codes.js";
import { withBackend, type CommandDeps } from "../context.js";

export interface MigrateOptions {
  check?: boolean;
  /** Also create the archive tier (#12). */
  archive?: boolean;
}

export async function run(options: MigrateOptions, deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const before = await backend.migrationStatus();
    if (options.check) {
      if (deps.json) deps.out.out(JSON.stringify({ url: backend.url, applied: before.applied, pending: before.pending, planned: before.planned }));
      else if (before.pending.length === 0) deps.out.out(`${backend.url}: up to date (${before.applied.length} migrations applied)`);
      else deps.out.out(`${backend.url}: ${before.pending.length} pending: ${before.pending.join(", ")}; migrate would run:\n${before.planned.map((s) => `  ${s.replace(/\s+/g, " ")}`).join("\n")}`);
      return before.pending.length === 0 ? EXIT.OK : EXIT.FAILURE;
    }
    const after = await backend.migrate();
    const appliedNow = after.applied.filter((tag) => !before.applied.includes(tag));
    if (options.archive) {
      await backend.createArchive();
      if (!deps.json) deps.out.err(`${backend.url}: archive tier ready (backend-cleanup --archive-after moves finished rows into it)`);
    }
    if (deps.json) deps.out.out(JSON.stringify({ url: backend.url, applied: after.applied, appliedNow, pending: after.pending, ran: after.planned }));
    else if (appliedNow.length === 0) deps.out.out(`${backend.url}: already up to date (${after.applied.length} migrations applied)`);
    else deps.out.out(`${backend.url}: applied ${appliedNow.join(", ")}`);
    return EXIT.OK;
  }, { migrate: false, create: !options.check });
}
