// normlab's command-line entry point. Errors a user can fix are one line (exit 1; usage errors also
// print the usage and exit 2); stacks only with --debug.
import { formatHelp, parseArgs } from './args.js';
import { out, type Command } from './command.js';
import { commands } from './commands/index.js';
import { GpuError, NonFiniteError, UsageError, UserError } from '../engine/errors.js';
import { ADAPTERS } from '../engine/adapters.js';

function topLevelUsage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'normlab: train and compare Batch, Group and Layer normalisation on hand-written WebGPU kernels.',
    '',
    'Usage: normlab <command> [flags]      (normlab <command> --help for its flags)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const debug = argv.includes('--debug');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    const cmd = topic ? commands.find((c) => c.name === topic) : undefined;
    out.line(cmd ? formatHelp(cmd) : topLevelUsage());
    return name === undefined ? 2 : 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (!command) {
    out.err(`normlab: unknown command '${name}'`);
    out.err(topLevelUsage());
    return 2;
  }
  try {
    const args = parseArgs(command, rest);
    if (args.help) {
      out.line(formatHelp(command));
      return 0;
    }
    const adapter = args.flags.adapter;
    if (typeof adapter === 'string') {
      if (!(adapter in ADAPTERS)) throw new UsageError(`--adapter: unknown adapter '${adapter}' (expected one of ${Object.keys(ADAPTERS).join(', ')})`);
      process.env.NORMLAB_ADAPTER = adapter; // read where the GPU is created, and by child processes
    }
    return (await command.run(args)) ?? 0;
  } catch (e) {
    return reportError(command, e, debug);
  }
}

function reportError(command: Command, e: unknown, debug: boolean): number {
  if (e instanceof UsageError) {
    out.err(`normlab ${command.name}: ${e.message}`);
    out.err(`Usage: ${command.usage}   (normlab ${command.name} --help for details)`);
    return 2;
  }
  if (e instanceof UserError) {
    out.err(`normlab ${command.name}: ${e.message}`);
    if (debug && e.stack) out.err(e.stack);
    return e.exitCode;
  }
  if (e instanceof GpuError || e instanceof NonFiniteError) {
    out.err(`normlab ${command.name}: ${e.message}`);
    if (e instanceof GpuError && e.kind !== 'device-lost') {
      out.err('Rerun with NORMLAB_DEBUG=errors to validate op by op and name the exact kernel.');
    }
    if (debug && e instanceof GpuError) out.err(e.detail);
    if (debug && e.stack) out.err(e.stack);
    return 1;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  out.err(`normlab ${command.name}: internal error: ${err.message}`);
  out.err(debug && err.stack ? err.stack : 'This is a bug in normlab. Rerun with --debug for the stack trace.');
  return 70;
}
