import { defineConfig } from "drizzle-kit";

// Generates migrations/mysql from the MySQL/MariaDB models (see drizzle.config.ts).
export default defineConfig({
  dialect: "mysql",
  schema: "./src/db/mysql/schema.ts",
  out: process.env["TASKLEDGER_MIGRATIONS_OUT"] ?? "./migrations/mysql",
});
