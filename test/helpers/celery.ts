/**
 * Runs test/fixtures/celery/celery_side.py under Debian's Python with Celery installed
 * (python3-celery). Without it the interop suites skip with one line, except under CI=true.
 */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const PYTHON = process.env["TASKLEDGER_CELERY_PYTHON"] ?? "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("../fixtures/celery/celery_side.py", import.meta.url));

/** The database driver Python needs for each server (Debian's package is python3-<module>). */
const PYTHON_DRIVER = { postgresql: "psycopg2", mysql: "pymysql" } as const;

export function celerySkip(server: keyof typeof PYTHON_DRIVER = "postgresql"): string | false {
  const driver = PYTHON_DRIVER[server];
  const probe = spawnSync(PYTHON, ["-c", `import celery, sqlalchemy, ${driver}; print(celery.__version__)`], { encoding: "utf8" });
  if (probe.status === 0) return false;
  const reason = `Celery is not importable by ${PYTHON} with ${driver} (apt-get install -y python3-celery python3-sqlalchemy python3-${driver})`;
  if (process.env["CI"] === "true") throw new Error(`the Celery interop tests are mandatory under CI=true: ${reason}`);
  console.log(`# ${reason}; Celery interop suites skipped`);
  return reason;
}

export function celeryVersion(): string {
  return spawnSync(PYTHON, ["-c", "import celery; print(celery.__version__)"], { encoding: "utf8" }).stdout.trim();
}

/** Runs one celery_side.py command against a Celery result_backend URL; returns its JSON output. */
export function celery<T = any>(url: string, command: string, argument?: unknown): Promise<T> {
  const args = [SCRIPT, url, command, ...(argument === undefined ? [] : [JSON.stringify(argument)])];
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`celery_side.py ${command} exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}
