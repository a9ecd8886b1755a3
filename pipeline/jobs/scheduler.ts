import cron from 'node-cron';
import type { Logger } from 'pino';

/** A running schedule. */
export interface Scheduler {
  stop(): void;
}

/**
 * Runs `scan` on the node-cron expression `schedule.scan` (5 fields, or 6 with
 * seconds; the config schema has checked it). A scan still running when the next is due
 * is skipped, not stacked.
 */
export function startScheduler(expression: string, scan: () => Promise<unknown>, logger: Logger): Scheduler {
  const task = cron.schedule(
    expression,
    async () => {
      try {
        await scan();
      } catch (err) {
        logger.error({ err }, 'source scan failed');
      }
    },
    {
      name: 'scan-sources',
      noOverlap: true,
      logger: {
        info: (m) => logger.debug(m),
        warn: (m) => logger.warn(m),
        error: (m, err) => logger.error({ err: err ?? m }, 'scheduler error'),
        debug: (m) => logger.debug(m instanceof Error ? m.message : m),
      },
    },
  );
  logger.info({ schedule: expression }, 'source scan scheduled');
  return {
    stop: () => {
      void task.destroy();
    },
  };
}
