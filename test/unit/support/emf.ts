/**
 * Reads the metrics a function printed in CloudWatch embedded metric format
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 * one entry per metric per EMF line, with the dimension sets it is published under and their values.
 */
import type { CapturedLogs } from './logs.js';

export interface EmittedMetric {
  name: string;
  unit: string | undefined;
  /** The value, or the values when one line holds several of the same name. */
  value: unknown;
  namespace: string;
  /** Every dimension set of the line, as CloudWatch reads it: a metric is published once per set. */
  dimensionSets: string[][];
  /** The value of each dimension named in the sets. */
  dimensions: Record<string, unknown>;
}

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string }[];
}

/** Every metric in the captured output, in the order printed; `name` keeps those of one name only. */
export function emittedMetrics(logs: CapturedLogs, name?: string): EmittedMetric[] {
  const metrics: EmittedMetric[] = [];
  for (const entry of logs.entries()) {
    const directives = (entry._aws as { CloudWatchMetrics?: EmfDirective[] } | undefined)?.CloudWatchMetrics;
    for (const directive of directives ?? []) {
      const dimensionSets = directive.Dimensions.map((set) => [...set].sort());
      const dimensions = Object.fromEntries(
        [...new Set(dimensionSets.flat())].map((dimension) => [dimension, entry[dimension]]),
      );
      for (const metric of directive.Metrics) {
        if (name !== undefined && metric.Name !== name) continue;
        metrics.push({
          name: metric.Name,
          unit: metric.Unit,
          value: entry[metric.Name],
          namespace: directive.Namespace,
          dimensionSets,
          dimensions,
        });
      }
    }
  }
  return metrics;
}

/** The dimension set sorted, to compare with `EmittedMetric.dimensionSets` entries. */
export function dimensionSet(...names: string[]): string[] {
  return [...names].sort();
}
