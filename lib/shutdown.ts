/**
 * Ordered, bounded shutdown. Every step runs even if an earlier one failed or
 * timed out, so a stuck Redis cannot keep the database pool open (or the reverse).
 */
import type { Logger } from './logger.js';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void> | void;
}

export class Shutdown {
  private readonly steps: ShutdownStep[] = [];
  private running: Promise<Error[]> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  /** Steps run in the order they were added. */
  add(name: string, run: ShutdownStep['run']): this {
    this.steps.push({ name, run });
    return this;
  }

  /** Runs every step once; calling it again returns the same run. Resolves with the errors it met. */
  run(reason: string): Promise<Error[]> {
    this.running ??= this.runSteps(reason);
    return this.running;
  }

  private async runSteps(reason: string): Promise<Error[]> {
    const deadline = Date.now() + this.timeoutMs;
    const errors: Error[] = [];
    this.log.info({ reason }, 'shutting down');
    for (const step of this.steps) {
      // Each step gets what is left of the budget, but at least a moment to try.
      const budget = Math.max(deadline - Date.now(), 250);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(step.run),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${budget} ms`)), budget);
          }),
        ]);
        this.log.debug({ step: step.name }, 'shutdown step done');
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        errors.push(new Error(`${step.name}: ${error.message}`));
        this.log.error({ step: step.name, err: error }, 'shutdown step failed');
      } finally {
        clearTimeout(timer);
      }
    }
    this.log.info({ failedSteps: errors.length }, 'shutdown complete');
    return errors;
  }
}
