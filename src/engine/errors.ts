// Errors normlab raises. The CLI prints a UserError as one line (exit 1 or 2) and shows stacks only
// with --debug; anything else is a bug and is reported as such.

/** A problem the user can fix: bad input, a missing driver, a bad file. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'UserError';
  }
}

/** Training produced a NaN or an infinity: where, and the likely cause. Nothing was saved after it. */
export class TrainingDivergedError extends UserError {
  constructor(
    message: string,
    readonly epoch: number,
    readonly step: number,
  ) {
    super(message, 1);
    this.name = 'TrainingDivergedError';
  }
}

/** A command-line usage problem: printed with the usage, exit code 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** An error reported by WebGPU (validation, out of memory, device lost), naming the op that caused it. */
export class GpuError extends Error {
  constructor(
    readonly kind: 'validation' | 'out-of-memory' | 'internal' | 'device-lost',
    readonly op: string,
    /** The adapter's full text; Dawn adds indented "While ..." lines of context after the first. */
    readonly detail: string,
  ) {
    // One line for the user; the context lines are shown with --debug.
    super(`WebGPU ${kind} error in ${op}: ${detail.split('\n')[0]!.trim()}`);
    this.name = 'GpuError';
  }
}

/** A NaN or Inf found by the debug NaN check after a readback. */
export class NonFiniteError extends Error {
  constructor(readonly what: string, readonly index: number, readonly value: number) {
    super(`${what}: non-finite value ${value} at element ${index}`);
    this.name = 'NonFiniteError';
  }
}
