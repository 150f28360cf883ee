/**
 * What each part of the benchmark returns to `bench/run.ts`: its results (written to bench/results.json under
 * the section's key) and the table printed for it.
 */
export interface BenchContext {
  /** The repository root. */
  readonly root: string;
  /** Progress lines (stderr), so long parts show they are alive. */
  log(line: string): void;
}

export interface BenchTable {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
}

export interface BenchSection<R> {
  /** JSON-serializable results. */
  readonly results: R;
  readonly tables: readonly BenchTable[];
}

/** The `p`-th percentile (0–100) of `values` by the nearest-rank method; `NaN` for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** `value` rounded to `digits` decimals, for tables and results. */
export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
