import { defineConfig } from "drizzle-kit";

// Generates migrations/sqlite from the SQLite models (see drizzle.config.ts).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/sqlite/schema.ts",
  out: process.env["TASKLEDGER_MIGRATIONS_OUT"] ?? "./migrations/sqlite",
});
