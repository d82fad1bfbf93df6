/**
 * MySQL/MariaDB for tests: each suite gets its own database, created on TASKLEDGER_TEST_MYSQL_URL's
 * server and dropped afterwards. Without a server the MySQL suites skip with one line, except
 * under CI=true, where they are mandatory and fail.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";
import mysql from "mysql2/promise";

export const MYSQL_URL = process.env["TASKLEDGER_TEST_MYSQL_URL"] ?? "mysql://root@127.0.0.1:3306/test";

let availability: Promise<string | undefined> | undefined;

/** undefined when the server answers, else the reason it does not. */
export function mysqlUnavailable(): Promise<string | undefined> {
  availability ??= (async () => {
    try {
      const connection = await connect(MYSQL_URL, 3000);
      await connection.query("SELECT 1");
      await connection.end();
      return undefined;
    } catch (error) {
      return (error as Error).message || String((error as { code?: string }).code);
    }
  })();
  return availability;
}

/** The `skip` option for a MySQL suite: false (run), or the one line saying why not. */
export async function mysqlSkip(): Promise<string | false> {
  const reason = await mysqlUnavailable();
  if (reason === undefined) return false;
  if (process.env["CI"] === "true") throw new Error(`MySQL is mandatory under CI=true but ${MYSQL_URL} does not answer: ${reason}`);
  const line = `MySQL at ${MYSQL_URL} does not answer (${reason}); MySQL suites skipped`;
  console.log(`# ${line}`);
  return line;
}

export function connect(url: string, connectTimeout = 10_000): Promise<mysql.Connection> {
  const parsed = new URL(url);
  return mysql.createConnection({
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
    connectTimeout,
    dateStrings: true,
    charset: "UTF8MB4_UNICODE_CI",
  });
}

export function urlForDatabase(name: string, base = MYSQL_URL): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh empty database on the test server. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `tl_${label
    .replace(/[^a-z0-9]/gi, "_")
    .toLowerCase()
    .slice(0, 40)}_${randomBytes(4).toString("hex")}`;
  await queryDatabase(MYSQL_URL, `CREATE DATABASE \`${name}\``);
  return {
    name,
    url: urlForDatabase(name),
    drop: () => queryDatabase(MYSQL_URL, `DROP DATABASE IF EXISTS \`${name}\``).then(() => undefined),
  };
}

/** Runs one statement on a database with a throwaway connection. */
export async function queryDatabase<T = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const connection = await connect(url);
  try {
    const [rows] = await connection.query(text, values);
    return (Array.isArray(rows) ? rows : []) as T[];
  } finally {
    await connection.end();
  }
}

/**
 * A TCP proxy in front of the test server: `away()` closes it and cuts every connection through
 * it (as a server going down would), `back()` listens again on the same port. The shared server
 * itself is never stopped.
 */
export async function startProxy(): Promise<{ port: number; away(): Promise<void>; back(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(MYSQL_URL);
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 3306), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on("close", () => sockets.delete(socket));
          socket.on("error", () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });
  const away = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return { port, away, back: async () => (server ? undefined : listen()), close: away };
}
