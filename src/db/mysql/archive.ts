/**
 * The archive tier on MySQL and MariaDB is not built yet: partitioning the archive by expiry
 * (PARTITION BY RANGE, every unique key holding the partition column) and expiring it with DROP
 * PARTITION is the plan. Until then the archive is absent here, and creating it says so.
 */
import { NotAvailableError } from "../../errors.js";

export function archiveUnavailable(): NotAvailableError {
  return new NotAvailableError(
    "the archive tier is not yet available on MySQL/MariaDB; keep results in the task table (retention rules and legal holds work there), or use PostgreSQL or SQLite for an archive",
  );
}
