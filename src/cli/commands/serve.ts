/**
 * `taskledger serve`: the web view over the store the global options name. Runs until
 * SIGINT or SIGTERM; prints the address (and, with a token, the link that sets it once).
 */
import { checkBind } from "../../web/security.js";
import { startWebServer, SERVE_HOST_DEFAULT, SERVE_PORT_DEFAULT } from "../../web/server.js";
import type { CommandDeps } from "../open.js";
import { parsePort } from "../options.js";
import { EXIT } from "../exit-codes.js";

export interface ServeOptions {
  port?: string;
  host?: string;
  token?: string;
  allowWrites?: boolean;
}

/** Resolves when the server stops: on a signal, or when `stop` (tests) resolves. */
export async function run(options: ServeOptions, deps: CommandDeps, stop?: Promise<void>): Promise<number> {
  const port = options.port === undefined ? SERVE_PORT_DEFAULT : parsePort(options.port);
  const host = options.host ?? SERVE_HOST_DEFAULT;
  const token = options.token || process.env["TASKLEDGER_SERVE_TOKEN"] || null;
  checkBind(host, token); // before opening anything
  const backend = await deps.open();
  try {
    const server = await startWebServer(backend, { host, port, token, allowWrites: Boolean(options.allowWrites) });
    deps.out.err(
      `taskledger serve: ${backend.url} on ${server.url}${token ? " (token required: open it once as ?token=<token>)" : ""}; ${options.allowWrites ? "writes enabled" : "read-only"}; Ctrl-C stops`,
    );
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      process.once("SIGINT", done);
      process.once("SIGTERM", done);
      void stop?.then(done);
    });
    await server.close();
    return EXIT.OK;
  } finally {
    await backend.close();
  }
}
