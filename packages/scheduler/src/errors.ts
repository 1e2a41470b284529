import { KemuError } from '@kemu/runtime';

/** A pod or node the scheduler cannot interpret (e.g. a malformed quantity or selector). */
export class SchedulerInputError extends KemuError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SCHEDULER_INPUT_INVALID', message, options);
  }
}
