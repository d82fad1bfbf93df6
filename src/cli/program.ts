/**
 * The commander program: global options, one subcommand per file under ./commands, help with
 * examples, and every outcome mapped to an exit code (./exit-codes.ts).
 */
import { Command, CommanderError, Option } from "commander";
import { EXIT, reportError } from "./exit-codes.js";
import { depsFor, type GlobalOptions } from "./open.js";
import { cliSecrets, type Output } from "./output.js";
import * as cleanup from "./commands/backend-cleanup.js";
import * as cleanupEvery from "./commands/backend-cleanup-every.js";
import * as exportCommand from "./commands/export.js";
import * as forget from "./commands/forget.js";
import * as groups from "./commands/groups.js";
import * as hold from "./commands/hold.js";
import * as list from "./commands/list.js";
import * as migrate from "./commands/migrate.js";
import * as serve from "./commands/serve.js";
import * as show from "./commands/show.js";
import * as stats from "./commands/stats.js";
import * as webhooks from "./commands/webhooks.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

function addFilters(command: Command): Command {
  return command
    .option("--state <states...>", "only these states, e.g. --state FAILURE RETRY (or FAILURE,RETRY)", collect)
    .option("--name <names...>", "only these task names, e.g. --name reports.generate", collect)
    .option("--worker <workers...>", "only these workers, e.g. --worker celery@worker1", collect)
    .option("--queue <queues...>", "only these queues", collect)
    .option(
      "--since <when>",
      "only tasks done (or, while unready, last written) since: a duration ago (24h, 7d) or an ISO date (2026-11-17, 2026-11-17T08:00Z)",
    )
    .option("--until <when>", "only tasks done before: a duration ago or an ISO date");
}

/** Builds the program; `run` resolves to the exit code. */
export function buildProgram(out: Output): { program: Command; run: (argv: string[]) => Promise<number> } {
  let exitCode: number = EXIT.OK;
  const program = new Command("taskledger")
    .description("Audit and maintain a taskledger / Celery result store (PostgreSQL, SQLite, or MySQL/MariaDB).")
    .addOption(
      new Option(
        "--url <url>",
        "database URL: postgres://…, sqlite:<file>, a file path, or Celery's db+… form (password masked in all output)",
      ).env("TASKLEDGER_URL"),
    )
    .addOption(
      new Option(
        "--read-url <url>",
        "a PostgreSQL streaming replica for the audit commands (list, show, stats, export, serve's pages); writes, holds, forget and cleanup stay on --url",
      ).env("TASKLEDGER_READ_URL"),
    )
    .option("--json", "machine-readable JSON output")
    .addOption(
      new Option("--task-table <name>", "task table, as Celery's database_table_names.task (default celery_taskmeta)").env(
        "TASKLEDGER_TASK_TABLE",
      ),
    )
    .addOption(
      new Option("--group-table <name>", "group table, as Celery's database_table_names.group (default celery_tasksetmeta)").env(
        "TASKLEDGER_GROUP_TABLE",
      ),
    )
    .addOption(
      new Option("--schema <name>", "PostgreSQL schema of both tables, as Celery's database_table_schemas").env("TASKLEDGER_SCHEMA"),
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (text) => out.out(text.trimEnd()), writeErr: (text) => out.err(text.trimEnd()) })
    .addHelpText(
      "after",
      `
Examples:
  taskledger --url postgres://app:secret@db/app migrate
  TASKLEDGER_URL=sqlite:/var/lib/app/results.db taskledger list --state FAILURE --since 24h
  taskledger backend-cleanup --expires 7d --keep-failures 90d --batch-size 5000
  taskledger show 0b6f6d0e-1c1e-4c56-9b1e-3b1f4c8a2d10 --json
  taskledger export --format csv --since 2026-11-01 > november.csv
  taskledger serve --port 8765

Exit codes: 0 done, 1 failure, 2 usage error, 3 backend-cleanup skipped (another cleanup holds the lock).`,
    );

  const action =
    <A extends unknown[]>(body: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      exitCode = await body(...args);
    };
  const deps = () => depsFor(program.opts<GlobalOptions>(), out);

  program
    .command("migrate")
    .description("apply pending migrations (idempotent); --check only reports them")
    .option("--check", "report pending migrations and exit 1 if there are any, without applying")
    .option("--history", "keep the history of every state change (installs the history triggers; on by default)")
    .option("--no-history", "keep no history: drops the history triggers, for every writer (rows already kept stay)")
    .option(
      "--archive",
      "also create the archive tier (README, Archive); without it the database keeps only the task, group, history and hold tables",
    )
    .option(
      "--widen",
      "widen value and time columns a Celery table made narrower (MySQL: BLOB, TEXT, DATETIME become LONGBLOB, LONGTEXT, DATETIME(6)); Celery reads them the same",
    )
    .option(
      "--distribute",
      "on a Citus coordinator: distribute every table by task id, co-located, with the Citus form of history and waking (README, Scaling out)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  taskledger migrate --check || taskledger migrate\n  taskledger migrate --no-history\n  taskledger migrate --archive\n  taskledger migrate --widen\n  taskledger migrate --archive --distribute",
    )
    .action(action((options: migrate.MigrateOptions) => migrate.run(options, deps())));

  program
    .command("backend-cleanup")
    .description("delete results older than result_expires, in bounded batches (run it from cron)")
    .option(
      "--expires <duration>",
      "retention, e.g. 7d or 36h; forever (or never, none, any case) keeps all (default: TASKLEDGER_RESULT_EXPIRES, else 1d)",
    )
    .option("--keep-failures <duration>", "keep FAILURE rows this long instead, e.g. 90d, or forever")
    .option(
      "--keep <rule...>",
      "retention rules: STATE=DURATION, or criteria name=GLOB, state=S, queue=GLOB joined by commas, then =DURATION or =forever; e.g. --keep REVOKED=30d 'name=billing.*=400d' 'queue=audit,state=FAILURE=forever'; the most specific rule wins",
      collect,
    )
    .option(
      "--policy <file>",
      'retention rules from a JSON file: {"expires": "7d", "rules": [{"name": "billing.*", "keep": "400d"}], "customStates": []} (README, Retention)',
    )
    .option(
      "--custom-state <name...>",
      "a state your tasks store beyond Celery's (e.g. PROGRESS), so --keep and the policy's rules may name it; any other unknown state is refused",
      collect,
    )
    .option("--explain <task-id...>", "print, per task, the rule that applies and when its row goes; deletes nothing")
    .option(
      "--archive-after <duration>",
      "move finished rows done longer ago than this into the archive (needs migrate --archive), e.g. 7d",
    )
    .option("--stale-after <duration>", "also delete unready rows (STARTED, RETRY…) not written for this long, e.g. 30d")
    .option("--batch-size <rows>", "rows per DELETE statement (default: adaptive, about 100 ms per batch on SQLite, 500 ms on PostgreSQL)")
    .option("--max-runtime <duration>", "stop cleanly between batches after this long, e.g. 10m")
    .option("--dry-run", "count what would be deleted, per rule; delete nothing")
    .option("--wait", "wait for a running cleanup to finish instead of exiting with code 3")
    .option("--every <duration>", "keep running: clean up now, then every interval (at least 1m, e.g. 1h); exits 0 on SIGTERM/SIGINT")
    .option("--jitter <duration>", "with --every: move each interval by up to this much at random (default a tenth of it)")
    .addOption(new Option("--allow-short-interval-for-tests", "tests only: allow --every below one minute").hideHelp())
    .addHelpText(
      "after",
      "\nExample (crontab, 04:00 daily):\n  0 4 * * * TASKLEDGER_URL=postgres://app@db/app taskledger backend-cleanup --expires 7d --keep-failures 90d >> /var/log/taskledger-cleanup.log 2>&1\nExample (a container or sidecar without cron):\n  taskledger backend-cleanup --every 1h --expires 7d",
    )
    .action(
      action((options: cleanup.CleanupCommandOptions & cleanupEvery.EveryOptions) =>
        cleanupEvery.wantsEvery(options) ? cleanupEvery.run(options, deps()) : cleanup.run(options, deps()),
      ),
    );

  program
    .command("show")
    .description(
      "every stored field of tasks: status, result or error, traceback, extended meta, parent, children, and the history timeline",
    )
    .argument("<task-id...>")
    .addHelpText("after", "\nExample:\n  taskledger show 0b6f6d0e-1c1e-4c56-9b1e-3b1f4c8a2d10")
    .action(action((ids: string[]) => show.run(ids, deps())));

  addFilters(program.command("list").description("list tasks, newest first"))
    .option("--limit <n>", "at most this many rows (default 50)")
    .option("--order <order>", "newest (default) or oldest first")
    .option("--jsonl", "one JSON object per line")
    .option("--held", "only tasks under a legal hold (taskledger hold)")
    .addHelpText("after", "\nExample:\n  taskledger list --state FAILURE --worker celery@worker1 --since 2026-11-17 --until 2026-11-18")
    .action(action((options: list.ListOptions) => list.run(options, deps())));

  addFilters(
    program
      .command("stats")
      .description(
        "counts by state, task name, worker and hour; failure rate; queue and run time per task name (default window: last 24h)",
      ),
  )
    .option("--all", "all time instead of the last 24h")
    .option("--top <n>", "rows per table (default 10)")
    .addHelpText("after", "\nExample:\n  taskledger stats --since 7d --name reports.generate")
    .action(action((options: stats.StatsOptions) => stats.run(options, deps())));

  addFilters(program.command("export").description("stream every matching task as JSON lines or CSV, in constant memory"))
    .option("--format <format>", "jsonl (default) or csv")
    .addHelpText("after", "\nExample:\n  taskledger export --format csv --state FAILURE > failures.csv")
    .action(action((options: exportCommand.ExportOptions) => exportCommand.run(options, deps())));

  program
    .command("forget")
    .description("delete the stored results of tasks")
    .argument("<task-id...>")
    .action(action((ids: string[]) => forget.run(ids, deps())));

  program
    .command("hold")
    .description("place a legal hold: the tasks' rows survive every retention rule until released")
    .argument("<task-id...>")
    .option("--reason <text>", "why, kept with the hold (e.g. a case number)")
    .addHelpText("after", "\nExample:\n  taskledger hold 0b6f6d0e-1c1e-4c56-9b1e-3b1f4c8a2d10 --reason 'case 2026-118'")
    .action(action((ids: string[], options: hold.HoldOptions) => hold.hold(ids, options, deps())));

  program
    .command("release")
    .description("lift legal holds; retention applies again from the next cleanup")
    .argument("<task-id...>")
    .action(action((ids: string[]) => hold.release(ids, deps())));

  program
    .command("groups")
    .description("saved groups (celery_tasksetmeta)")
    .command("show")
    .description("a saved group's members and their states")
    .argument("<group-id>")
    .action(action((id: string) => groups.show(id, deps())));

  program
    .command("serve")
    .description("browse, filter, chart and export results in a browser (read-only; loopback unless a token is set)")
    .option("--port <port>", `port to listen on (default 8765; 0 picks a free one)`)
    .option("--host <host>", "address to bind (default 127.0.0.1); any other address requires a token")
    .addOption(
      new Option("--token <token>", "required on every request (header, Bearer, or ?token= once); at least 16 characters").env(
        "TASKLEDGER_SERVE_TOKEN",
      ),
    )
    .option("--allow-writes", "offer forget and revoke on task pages (POST with the token in a header, confirmed in the page)")
    .addHelpText(
      "after",
      "\nExamples:\n  npx taskledger serve                      # ./taskledger.db on http://127.0.0.1:8765/\n  TASKLEDGER_SERVE_TOKEN=$(openssl rand -hex 16) taskledger --url postgres://app@db/app serve --host 0.0.0.0",
    )
    .action(action((options: serve.ServeOptions) => serve.run(options, deps())));

  const hooks = program
    .command("webhooks")
    .description(
      "POST each ready state to registered URLs: list (the default), add, remove, dead letters, replay; --every runs the dispatcher",
    )
    .option("--every <interval>", "run the dispatcher, looking for due deliveries this often (e.g. 1s); one process delivers at a time")
    .option("--max-attempts <n>", "attempts before a delivery becomes a dead letter (default 8)")
    .addHelpText(
      "after",
      "\nExamples:\n  taskledger webhooks add https://app.example/hooks/tasks --match 'reports.*'\n  taskledger webhooks --every 1s\n  taskledger webhooks dead\n  taskledger webhooks replay",
    )
    .action(
      action((options: webhooks.DispatchOptions) =>
        options.every === undefined ? webhooks.list(deps()) : webhooks.dispatch(options, deps()),
      ),
    );
  hooks
    .command("add")
    .description("register a webhook (prints a generated signing secret once)")
    .argument("<url>")
    .option("--match <glob>", "only tasks whose name matches, e.g. 'reports.*' (default: every task)")
    .option("--task <id>", "only this task")
    .option("--secret <secret>", "the signing secret (at least 16 characters); generated when absent")
    .action(action((url: string, options: webhooks.AddOptions) => webhooks.add(url, options, deps())));
  hooks
    .command("list")
    .description("webhooks with their pending and dead deliveries")
    .action(action(() => webhooks.list(deps())));
  hooks
    .command("remove")
    .description("remove webhooks with their pending deliveries and dead letters")
    .argument("<id...>")
    .action(action((ids: string[]) => webhooks.remove(ids, deps())));
  hooks
    .command("dead")
    .description("deliveries given up on, most recent first")
    .option("--limit <n>", "at most this many (default 100)")
    .action(action((options: { limit?: string }) => webhooks.dead(options, deps())));
  hooks
    .command("replay")
    .description("deliver dead letters again (all, or the ids given)")
    .argument("[id...]")
    .action(action((ids: string[]) => webhooks.replay(ids, deps())));

  const run = async (argv: string[]): Promise<number> => {
    exitCode = EXIT.OK;
    out.redact(cliSecrets(argv));
    try {
      await program.parseAsync(argv, { from: "user" });
      return exitCode;
    } catch (error) {
      if (error instanceof CommanderError) {
        return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      }
      return reportError(error, out);
    }
  };
  return { program, run };
}
