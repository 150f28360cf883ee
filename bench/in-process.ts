/**
 * What the in-process parts (bench/ingest.ts, bench/router.ts) share: a pinned environment for loading a
 * handler, output dropped while it runs, a forced garbage collection before each measured window, and the
 * median of rounds.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Sets `variables` in `process.env` (`undefined` deletes one) and returns a function that puts back what was
 * there, so the functions' configuration does not leak into the parts that run after this one.
 */
export function pinEnvironment(variables: Readonly<Record<string, string | undefined>>): () => void {
  const before = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply({ ...variables });
  return () => apply(before);
}

/**
 * Runs `work` with stdout and stderr writes dropped. The functions write one or more JSON lines per request
 * (logs and embedded-metric-format metrics, through Powertools' own `Console` on `process.stdout`): the lines
 * are still built, as in Lambda, but a terminal or pipe would add its own, noisy, cost.
 */
export async function withOutputDropped<T>(work: () => Promise<T>): Promise<T> {
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) stream.write = (() => true) as typeof stream.write;
  try {
    return await work();
  } finally {
    streams.forEach((stream, index) => {
      stream.write = writes[index] as typeof stream.write;
    });
  }
}

let gc: (() => void) | undefined;

/**
 * A full garbage collection, so that every measured window starts from the same heap state and does not pay
 * for the garbage of the one before. Uses `globalThis.gc` when Node runs with `--expose-gc`, else enables the
 * flag at run time and takes `gc` from a new context (the flag applies to contexts created after it is set).
 */
export function collectGarbage(): void {
  if (!gc) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    }
  }
  gc();
}

/** The median of `values` (the mean of the middle two for an even count); `NaN` for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
