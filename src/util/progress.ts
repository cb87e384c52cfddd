import cliProgress from 'cli-progress';
import { env } from '../env.js';

export interface Progress {
  /** Advance by `n` items (default 1), optionally updating the extra status text. */
  tick(n?: number, status?: string): void;
  /** Set the status text shown after the bar (loss, metrics, ...). */
  status(text: string): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Where to draw; defaults to stderr so stdout stays clean for tables and JSON. */
  stream?: NodeJS.WriteStream;
  /** Disable output entirely (library use, tests). */
  silent?: boolean;
  unit?: string;
}

/**
 * A progress bar with rate and ETA. On a TTY it redraws in place (cli-progress);
 * elsewhere (CI logs, pipes) it prints a line at most every 5 s so logs stay readable.
 */
export function progress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? 'it';
  if (opts.silent || env.quiet) {
    return { tick() {}, status() {}, stop() {} };
  }
  const started = Date.now();
  let done = 0;
  let statusText = '';
  const rate = (): number => {
    const s = (Date.now() - started) / 1000;
    return s > 0 ? done / s : 0;
  };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {percentage}% {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} {status}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.0', status: '' });
    const payload = () => ({ rate: rate().toFixed(1), status: statusText });
    return {
      tick(n = 1, status) {
        done += n;
        if (status !== undefined) statusText = status;
        bar.update(done, payload());
      },
      status(text) {
        statusText = text;
        bar.update(done, payload());
      },
      stop() {
        bar.update(done, payload());
        bar.stop();
      },
    };
  }
  let lastPrint = 0;
  function line(final: boolean): void {
    const r = rate();
    const eta = r > 0 ? Math.max(0, (total - done) / r) : NaN;
    const pct = total > 0 ? ((100 * done) / total).toFixed(0) : '100';
    const etaText = final
      ? `${((Date.now() - started) / 1000).toFixed(1)}s total`
      : `ETA ${formatSeconds(eta)}`;
    stream.write(
      `${label}: ${done}/${total} ${unit} (${pct}%) ${r.toFixed(1)} ${unit}/s ${etaText} ${statusText}\n`,
    );
  }
  return {
    tick(n = 1, status) {
      done += n;
      if (status !== undefined) statusText = status;
      const now = Date.now();
      if (now - lastPrint > 5000) {
        lastPrint = now;
        line(false);
      }
    },
    status(text) {
      statusText = text;
    },
    stop() {
      line(true);
    },
  };
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const total = Math.round(s); // round once, so 119.6 s reads 2m00s and never 1m60s
  if (total < 60) return `${total}s`;
  const m = Math.floor(total / 60);
  if (m < 60) return `${m}m${(total % 60).toString().padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${(m % 60).toString().padStart(2, '0')}m`;
}
