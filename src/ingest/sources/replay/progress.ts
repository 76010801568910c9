import { SingleBar } from 'cli-progress';

/** Progress of a long replay or backfill; `update` may be called very often (it throttles). */
export interface Progress {
  start(totalBytes: number): void;
  update(bytes: number, lines: number): void;
  stop(): void;
}

export const noProgress: Progress = { start() {}, update() {}, stop() {} };

const mb = (n: number) => (n / 1_048_576).toFixed(1);

/**
 * A progress bar on stderr when it is a terminal (cli-progress), else one plain line every
 * `intervalMs` (logs and CI keep a readable record instead of carriage-return noise).
 */
export function createProgress(
  stream: NodeJS.WriteStream = process.stderr,
  options: { label?: string; intervalMs?: number } = {},
): Progress {
  const label = options.label ?? 'replay';
  if (stream.isTTY) return ttyProgress(stream, label);
  const interval = options.intervalMs ?? 5_000;
  let total = 0;
  let last = 0;
  let started = 0;
  let latest = { bytes: 0, lines: 0 };
  const print = () => {
    const pct = total > 0 ? Math.floor((100 * latest.bytes) / total) : 100;
    const rate = Math.round(latest.lines / Math.max(0.001, (Date.now() - started) / 1000));
    stream.write(`${label}: ${pct}% (${mb(latest.bytes)} of ${mb(total)} MB), ${latest.lines} lines, ${rate} lines/s\n`);
  };
  return {
    start(totalBytes) {
      total = totalBytes;
      started = last = Date.now();
    },
    update(bytes, lines) {
      latest = { bytes, lines };
      if (Date.now() - last >= interval) {
        last = Date.now();
        print();
      }
    },
    stop() {
      latest = { bytes: total, lines: latest.lines };
      print();
    },
  };
}

function ttyProgress(stream: NodeJS.WriteStream, label: string): Progress {
  const bar = new SingleBar({
    stream,
    format: `${label} [{bar}] {percentage}% | {value}/{total} MB | {lines} lines | eta {eta_formatted}`,
    hideCursor: true,
    fps: 5,
  });
  let total = 0;
  return {
    start(totalBytes) {
      total = totalBytes;
      bar.start(Number(mb(totalBytes)), 0, { lines: 0 });
    },
    update(bytes, lines) {
      bar.update(Number(mb(bytes)), { lines });
    },
    stop() {
      bar.update(Number(mb(total)));
      bar.stop();
    },
  };
}
