// A CLI command: its flags (validated by args.ts) and what it runs.
import type { CommandSpec, ParsedArgs } from './args.js';

export interface Command extends CommandSpec {
  /** Returns the process exit code (0 when omitted). */
  run(args: ParsedArgs): Promise<number | void>;
}

/** Output helpers, so commands print the same way and tests can capture it. */
export const out = {
  line(s = ''): void {
    process.stdout.write(`${s}\n`);
  },
  err(s: string): void {
    process.stderr.write(`${s}\n`);
  },
};
