/**
 * `npm run bench [-- --skip-local]`: measures the hot paths, prints a table per part, writes
 * bench/results.json and checks the budgets (bench/budgets.ts) and, against the last committed results, that
 * no figure regressed by more than `REGRESSION_TOLERANCE`. Exits 1 when a budget or the regression check
 * fails (the results are still written, so the change can be looked at; commit them only when it is intended).
 *
 * Parts: the ingest handler and the router in-process with AWS stubbed at the SDK boundary, the cold-start
 * proxy of every function's bundle, the cost per million events from the synthesized template, and the end to
 * end run on the local cloud (reported, not budgeted; `--skip-local` leaves it out).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BUDGETS, type Headline, headlineChecks, REGRESSION_TOLERANCE } from './budgets.js';
import { coldStartBench } from './cold-start.js';
import { costBench } from './cost.js';
import { ingestBench } from './ingest.js';
import { localCloudBench } from './local-cloud.js';
import { routerBench } from './router.js';
import type { BenchContext, BenchTable } from './section.js';

const ROOT = join(import.meta.dirname, '..');
const RESULTS_FILE = join(ROOT, 'bench', 'results.json');

const { values } = parseArgs({ options: { 'skip-local': { type: 'boolean' } } });
const context: BenchContext = { root: ROOT, log: (line) => console.error(`bench: ${line}`) };

const previous = committedResults();
const ingest = await part('ingest handler (in-process, AWS stubbed)', ingestBench);
const router = await part('router handler (in-process, AWS stubbed)', routerBench);
const coldStart = await part('cold-start proxy (bundles, fresh Node processes)', coldStartBench);
const cost = await part('cost per million events (template + list prices)', costBench);
const localCloud = values['skip-local'] ? undefined : await reported(localCloudBench);

const headline: Headline = {
  ackPathAwsCalls: ingest.ackPathAwsCalls,
  ingestBundleBytes: coldStart.ingestBundleBytes,
  ingestInitRatio: coldStart.ingestInitRatio,
  ingestP99Ms: ingest.ingestP99Ms,
  routerRecordsPerSecond: router.recordsPerSecond['10'],
  costPerMillionUsd: cost.costPerMillionUsd,
};
const results = {
  ...headline,
  measuredAt: new Date().toISOString(),
  machine: { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
  ingest,
  router,
  coldStart,
  cost,
  ...(localCloud ? { localCloud } : previous?.localCloud ? { localCloud: previous.localCloud } : {}),
};
writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);

const checks = headlineChecks(headline, previous);
print({
  title: `budgets (bench/budgets.ts) and regressions over ${REGRESSION_TOLERANCE * 100} % against the committed results`,
  columns: ['figure', 'now', 'budget', 'committed', 'verdict'],
  rows: checks.map((check) => [check.figure, check.now, check.budget, check.committed, check.verdict]),
});
console.log(`results written to bench/results.json (budgets: ${JSON.stringify(BUDGETS)})`);
const failed = checks.filter((check) => check.verdict !== 'ok');
if (failed.length > 0) {
  console.error(`bench: ${failed.length} check(s) failed: ${failed.map((check) => check.figure).join(', ')}`);
  process.exitCode = 1;
}

/** The local-cloud part: its failure (the emulator overloaded, a flow failed) fails the run but loses no other figure. */
async function reported(run: typeof localCloudBench) {
  try {
    return await part('end to end on the local cloud (reported, not budgeted)', run);
  } catch (error) {
    context.log(`the local-cloud part failed: ${(error as Error).message}`);
    process.exitCode = 1;
    return undefined;
  }
}

async function part<R>(
  title: string,
  run: (ctx: BenchContext) => Promise<{ results: R; tables: readonly BenchTable[] }>,
): Promise<R> {
  context.log(`${title}…`);
  const started = performance.now();
  const section = await run(context);
  context.log(`${title}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const table of section.tables) print(table);
  return section.results;
}

function print(table: BenchTable): void {
  const cells = [table.columns, ...table.rows].map((row) => row.map(String));
  const widths = table.columns.map((_, column) => Math.max(...cells.map((row) => row[column]?.length ?? 0)));
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  console.log(`\n${table.title}`);
  console.log(line(cells[0] ?? []));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of cells.slice(1)) console.log(line(row));
}

/** bench/results.json as last committed (`git show HEAD:…`), else as on disk, else none. */
function committedResults(): (Partial<Headline> & { localCloud?: unknown }) | undefined {
  try {
    return JSON.parse(
      execFileSync('git', ['show', 'HEAD:bench/results.json'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: 'pipe',
      }),
    );
  } catch {
    try {
      return JSON.parse(readFileSync(RESULTS_FILE, 'utf8'));
    } catch {
      return undefined;
    }
  }
}
