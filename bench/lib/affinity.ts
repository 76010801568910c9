import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * CPU affinity for benchmarks that run Elasticsearch and tuskguard on one machine. Pinned, the
 * node gets cores of its own (as a production node has its own host), so a ratio against its
 * raw ceiling measures how well the pipeline drives it, not how much CPU the two processes
 * take from each other. Linux only (`taskset`, `ss`); every step says why when it cannot run.
 */

/** The pid listening on `url`'s port on this machine, or null. */
export function listenerPid(url: string): number | null {
  const port = new URL(url).port || '9200';
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Set the CPU list of every thread of `pid` (`taskset -a -p -c LIST PID`). */
export function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

export interface Split {
  node: string;
  bench: string;
  all: string;
}

/** Half the cores for the node, the rest for the benchmark; null on a one-core machine. */
export function splitCores(): Split | null {
  const n = availableParallelism();
  if (n < 2) return null;
  const half = Math.max(1, Math.floor(n / 2));
  const list = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);
  return { node: list(0, half - 1), bench: list(half, n - 1), all: list(0, n - 1) };
}
