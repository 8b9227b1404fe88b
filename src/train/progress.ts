// Progress on long work: a bar redrawn in place on a terminal, plain lines (at most one every few
// seconds, and one per epoch) when the output is a file or a pipe.
import type { EpochMetrics, Progress } from './trainer.js';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class ProgressPrinter {
  private lastLineAt = 0;
  private barVisible = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainIntervalSeconds = 10,
    /** Prefix such as '[2/3] ' when several runs share the display. */
    private readonly prefix = '',
  ) {}

  get isTty(): boolean {
    return this.stream.isTTY === true;
  }

  step(p: Progress): void {
    const text =
      `${this.prefix}${p.norm} epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} ` +
      `loss ${p.runningLoss.toFixed(4)} acc ${(100 * p.runningAccuracy).toFixed(1)}% ` +
      `${Math.round(p.imagesPerSec)} img/s ETA ${formatDuration(p.etaSeconds)}`;
    if (this.isTty) {
      const width = Math.max(10, Math.min(30, (this.stream.columns ?? 100) - text.length - 4));
      const filled = Math.round((width * p.step) / p.steps);
      this.stream.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
      this.barVisible = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastLineAt >= this.plainIntervalSeconds * 1000 && p.step !== p.steps) {
      this.stream.write(`${text}\n`);
      this.lastLineAt = now;
    }
  }

  epoch(norm: string, m: EpochMetrics): void {
    this.clearBar();
    this.stream.write(
      `${this.prefix}${norm} epoch ${m.epoch}: train (running) loss ${m.trainLoss.toFixed(4)} acc ${(100 * m.trainAccuracy).toFixed(2)}% | ` +
        `train (eval mode) loss ${m.trainEvalLoss.toFixed(4)} acc ${(100 * m.trainEvalAccuracy).toFixed(2)}% | ` +
        `test loss ${m.testLoss.toFixed(4)} acc ${(100 * m.testAccuracy).toFixed(2)}% | ` +
        `${m.seconds.toFixed(1)} s, ${Math.round(m.imagesPerSec)} img/s\n`,
    );
    this.lastLineAt = Date.now();
  }

  message(s: string): void {
    this.clearBar();
    this.stream.write(`${s}\n`);
  }

  clearBar(): void {
    if (this.barVisible) this.stream.write('\r\x1b[2K');
    this.barVisible = false;
  }
}
