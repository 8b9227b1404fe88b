// Command-line flags, declared once per command and validated here, so every command rejects bad
// input the same way: one line naming the flag and what is allowed, then the usage, exit code 2.
import { UsageError } from '../engine/errors.js';

export type FlagType = 'int' | 'float' | 'string' | 'bool' | 'enum' | 'list';

export interface FlagSpec {
  name: string;
  type: FlagType;
  help: string;
  /** Allowed values of an enum, or of each item of a list. */
  choices?: readonly string[];
  /** Inclusive bounds for int and float. */
  min?: number;
  max?: number;
  /** A float that must be strictly greater than min (learning rates, say). */
  exclusiveMin?: boolean;
  default?: string | number | boolean | readonly string[];
  /** Shown in help instead of the type, e.g. 'DIR'. */
  metavar?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** e.g. 'normlab info [--json]' */
  usage: string;
  flags: readonly FlagSpec[];
  /** Positional arguments: a name for help and how many are allowed. */
  positional?: { name: string; help: string; min: number; max: number };
  /** Extra text for --help, after the flags. */
  details?: string;
}

export type FlagValue = string | number | boolean | string[] | undefined;

export interface ParsedArgs {
  flags: Record<string, FlagValue>;
  /** The flags given on the command line (flags also holds defaults). */
  given: ReadonlySet<string>;
  positional: string[];
  help: boolean;
  debug: boolean;
}

/** Flags every command takes. */
export const COMMON_FLAGS: readonly FlagSpec[] = [
  { name: 'help', type: 'bool', help: 'show this help' },
  { name: 'debug', type: 'bool', help: 'show stack traces and WebGPU details on errors' },
  { name: 'adapter', type: 'string', metavar: 'NAME', help: 'the Vulkan driver: lavapipe, lavapipe4, lavapipe8, lavapipe16 (subgroups of 4, 8, 16) or swiftshader; also NORMLAB_ADAPTER' },
];

function describeAllowed(f: FlagSpec): string {
  switch (f.type) {
    case 'int':
    case 'float': {
      const kind = f.type === 'int' ? 'an integer' : 'a number';
      const lo = f.min === undefined ? '' : f.exclusiveMin ? ` > ${f.min}` : ` >= ${f.min}`;
      const hi = f.max === undefined ? '' : `${lo ? ' and' : ''} <= ${f.max}`;
      return `${kind}${lo}${hi}`;
    }
    case 'enum':
      return `one of ${f.choices!.join(', ')}`;
    case 'list':
      return f.choices ? `a comma-separated list of ${f.choices.join(', ')}` : 'a comma-separated list';
    case 'bool':
      return 'no value';
    default:
      return 'a value';
  }
}

function convert(f: FlagSpec, raw: string): FlagValue {
  const bad = (): never => {
    throw new UsageError(`--${f.name}: '${raw}' is not valid; expected ${describeAllowed(f)}`);
  };
  switch (f.type) {
    case 'int':
    case 'float': {
      if (raw.trim() === '') bad();
      const v = Number(raw);
      if (!Number.isFinite(v) || (f.type === 'int' && !Number.isInteger(v))) bad();
      if (f.min !== undefined && (f.exclusiveMin ? v <= f.min : v < f.min)) bad();
      if (f.max !== undefined && v > f.max) bad();
      return v;
    }
    case 'enum':
      if (!f.choices!.includes(raw)) bad();
      return raw;
    case 'list': {
      const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
      if (items.length === 0) bad();
      if (f.choices && items.some((i) => !f.choices!.includes(i))) bad();
      if (new Set(items).size !== items.length) throw new UsageError(`--${f.name}: '${raw}' repeats an item`);
      return items;
    }
    case 'string':
      if (raw === '') bad();
      return raw;
    default:
      return bad();
  }
}

export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const all = [...COMMON_FLAGS, ...spec.flags];
  const byName = new Map(all.map((f) => [f.name, f]));
  const flags: Record<string, FlagValue> = {};
  const positional: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      flags.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) throw new UsageError(`unknown flag '${arg}'`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    let f = byName.get(name);
    let negated = false;
    if (!f && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'bool') {
      f = byName.get(name.slice(3));
      negated = true;
    }
    if (!f) {
      const close = all.map((s) => s.name).find((n) => n.startsWith(name) || name.startsWith(n));
      throw new UsageError(`unknown flag '--${name}'${close ? ` (did you mean --${close}?)` : ''}`);
    }
    if (seen.has(f.name)) throw new UsageError(`--${f.name} given twice`);
    seen.add(f.name);
    if (f.type === 'bool') {
      if (eq !== -1) throw new UsageError(`--${f.name} takes no value`);
      flags[f.name] = !negated;
      continue;
    }
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`--${f.name} needs a value: ${describeAllowed(f)}`);
      }
      raw = next;
      i++;
    }
    flags[f.name] = convert(f, raw);
  }
  for (const f of spec.flags) {
    if (flags[f.name] === undefined && f.default !== undefined) {
      flags[f.name] = Array.isArray(f.default) ? [...f.default] : (f.default as FlagValue);
    }
  }
  const help = flags.help === true;
  if (!help && spec.positional) {
    const { min, max, name } = spec.positional;
    if (positional.length < min) throw new UsageError(`missing ${name}`);
    if (positional.length > max) throw new UsageError(`too many arguments: ${positional.slice(max).join(' ')}`);
  } else if (!help && positional.length > 0) {
    throw new UsageError(`unexpected argument '${positional[0]}'`);
  }
  return { flags, given: seen, positional, help, debug: flags.debug === true };
}

export function formatHelp(spec: CommandSpec): string {
  const lines = [`${spec.summary}`, '', `Usage: ${spec.usage}`];
  if (spec.positional) lines.push('', `  ${spec.positional.name.padEnd(24)} ${spec.positional.help}`);
  lines.push('', 'Flags:');
  for (const f of [...spec.flags, ...COMMON_FLAGS]) {
    const value = f.type === 'bool' ? '' : ` ${f.metavar ?? (f.type === 'enum' ? f.choices!.join('|') : f.type.toUpperCase())}`;
    const left = `  --${f.name}${value}`;
    const def = f.default !== undefined && f.type !== 'bool' ? ` (default ${Array.isArray(f.default) ? f.default.join(',') : f.default})` : '';
    const pad = left.length < 30 ? left.padEnd(30) : `${left}\n${' '.repeat(30)}`;
    lines.push(`${pad}${f.help}${def}`);
  }
  if (spec.details) lines.push('', spec.details);
  return lines.join('\n');
}

/** Typed accessors, so commands read flags without casts scattered about. */
export function num(args: ParsedArgs, name: string): number {
  const v = args.flags[name];
  if (typeof v !== 'number') throw new Error(`flag --${name} is not a number (spec bug)`);
  return v;
}
export function optNum(args: ParsedArgs, name: string): number | undefined {
  const v = args.flags[name];
  return typeof v === 'number' ? v : undefined;
}
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}
export function bool(args: ParsedArgs, name: string): boolean {
  return args.flags[name] === true;
}
export function list(args: ParsedArgs, name: string): string[] | undefined {
  const v = args.flags[name];
  return Array.isArray(v) ? v : undefined;
}
