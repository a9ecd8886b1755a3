#!/usr/bin/env node
import { CommanderError } from 'commander';
import { ConfigError } from '../config/load-config.js';
import { buildProgram, exitCodeFor } from './program.js';

/** The only place that exits the process. */
async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
    process.exitCode = 0;
  } catch (err) {
    const code = exitCodeFor(err);
    if (!(err instanceof CommanderError)) {
      const message = err instanceof Error ? err.message : String(err);
      console.error(`plantiles: ${err instanceof ConfigError ? 'invalid config: ' : ''}${message.split('\n')[0]}`);
      if (code === 1 && !(err instanceof Error && /Error$/.test(err.name) && err.name !== 'Error')) {
        // An unexpected error: keep the stack on stderr for the operator.
        console.error((err as Error).stack);
      }
    }
    process.exitCode = code;
  }
}

await main();
