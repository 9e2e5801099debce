/**
 * Error classes of the threads layer that cross threads, kept apart from pool.ts so that
 * error-transfer.ts (loaded in every worker) knows them without loading the pool.
 */
import { PromisingError } from "../core/errors.ts";

/** A pool worker died (uncaught error, `process.exit`, out of memory) while running a task. */
export class WorkerCrashedError extends PromisingError {}
