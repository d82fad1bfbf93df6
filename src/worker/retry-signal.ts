/**
 * Thrown by a task function (through `ctx.retry()`) to ask for another attempt: runTask records
 * RETRY with the reason and hands the countdown back to whatever re-enqueues the task.
 */
import { TaskledgerError } from "../errors.js";

export class Retry extends TaskledgerError {
  override name = "Retry";
  constructor(
    /** Why the task retries; stored as the RETRY result. */
    readonly reason: Error,
    /** How long to wait before the next attempt, if the task says. */
    readonly countdownMs: number | null = null,
  ) {
    super(`retry requested: ${reason.message}`);
  }
}
