import { defineConfig } from "drizzle-kit";

// Generates migrations/pg from the PostgreSQL models; no database connection is needed.
// TASKLEDGER_MIGRATIONS_OUT lets the drift test generate into a scratch copy.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/pg/schema.ts",
  out: process.env["TASKLEDGER_MIGRATIONS_OUT"] ?? "./migrations/pg",
});
