import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  DownstreamGuardSettings,
  GUARD_METRIC_DIMENSION,
  GUARD_SETTINGS_ENV,
  GUARD_TABLE_ENV,
  GuardMetric,
} from '../functions/connectors/guard-config.js';
import { hubTable } from './hub-table.js';
import { pascalCase } from './names.js';
import { METRICS_NAMESPACE } from './service-function.js';

/** A downstream system's breaker and limiter settings (see functions/connectors/guard-config.ts). */
export type GuardSettings = Omit<DownstreamGuardSettings, 'system'>;

/**
 * Creates one paging alarm on `metric` (Sum over 1 minute, from the metric) above 0, whose description says
 * `what` and links the runbook `runbook`, for the guarded `system` (so it can page through that system's
 * component); e.g. `Alarms.watchMetric` with `{ component: alarms.downstream(system) }`.
 */
export type WatchMetric = (
  id: string,
  metric: cloudwatch.IMetric,
  what: string,
  runbook: string,
  system: string,
) => cloudwatch.Alarm;

/**
 * The shared state of the downstream guards (functions/connectors/guard.ts): one DynamoDB table holding,
 * per downstream system, a circuit-breaker item and a rate-limiter item (partition key `pk`, string), and
 * the wiring of the functions that call those systems.
 *
 * On-demand, encrypted with the AWS managed key, point-in-time recovery. Destroyed with the stack: the state
 * is ephemeral (breaker counts age out within 30 s, the limiter keeps one timestamp), and a new, empty table
 * is exactly the state after a quiet period, closed circuits and full buckets, so nothing is lost.
 */
export class DownstreamGuards extends Construct {
  readonly table: dynamodb.TableV2;
  /** Settings of each guarded system, as JSON: every function calling a system must share them. */
  private readonly systems = new Map<string, string>();
  /** The system each granted function calls (one per function: its environment holds one guard). */
  private readonly functions = new Map<string, string>();
  private readonly watchers: WatchMetric[] = [];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = hubTable(this, 'Table', { partitionKey: 'pk', removalPolicy: RemovalPolicy.DESTROY });
  }

  /**
   * Lets `fn` guard its calls to `system`: sets `GUARD_TABLE_NAME` and `DOWNSTREAM_GUARD` (the settings,
   * JSON) in its environment and grants it `dynamodb:GetItem` and `dynamodb:UpdateItem` on the table, nothing
   * more. Alarms registered with `alarmOnOpen` cover the system from now on.
   * @param settings the system's breaker and rate settings, e.g. `{ rate: { vendorLimitPerSecond: 25 } }`
   * @throws Error when the settings are invalid, differ from those another function got for the same system,
   *   or `fn` already guards another system
   */
  grantTo(fn: lambda.Function, system: string, settings: GuardSettings = {}): void {
    const parsed = DownstreamGuardSettings.safeParse({ system, ...settings });
    if (!parsed.success) throw new Error(`guard settings of ${system}: ${parsed.error.message}`);
    const json = JSON.stringify(parsed.data);
    const known = this.systems.get(system);
    if (known !== undefined && known !== json) {
      throw new Error(
        `${system} is guarded with different settings elsewhere (${known}): use one set per system`,
      );
    }
    const guarded = this.functions.get(fn.node.path);
    if (guarded !== undefined && guarded !== system) {
      throw new Error(`${fn.node.path} already guards ${guarded}; a function guards one system`);
    }
    this.functions.set(fn.node.path, system);
    fn.addEnvironment(GUARD_TABLE_ENV, this.table.tableName);
    fn.addEnvironment(GUARD_SETTINGS_ENV, json);
    this.table.grant(fn, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    if (known === undefined) {
      this.systems.set(system, json);
      for (const watch of this.watchers) this.alarm(watch, system);
    }
  }

  /** The system `fn` guards its calls to, if it was granted one (`grantTo`). */
  systemOf(fn: lambda.IFunction): string | undefined {
    return this.functions.get(fn.node.path);
  }

  /**
   * `CircuitOpened` of one system: the number of times its circuit opened (from closed, or again after a
   * failed probe), summed over 1 minute, from every function that calls it.
   */
  metricCircuitOpened(system: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: GuardMetric.CircuitOpened,
      dimensionsMap: { [GUARD_METRIC_DIMENSION]: system },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(1),
    });
  }

  /**
   * Pages when a circuit opens: one alarm per guarded system, on `CircuitOpened` Sum > 0 over 1 minute,
   * created through `watch` for the systems granted so far and for those granted later.
   */
  alarmOnOpen(watch: WatchMetric): void {
    this.watchers.push(watch);
    for (const system of this.systems.keys()) this.alarm(watch, system);
  }

  private alarm(watch: WatchMetric, system: string): cloudwatch.Alarm {
    return watch(
      `${pascalCase(system)}CircuitOpened`,
      this.metricCircuitOpened(system),
      `The circuit breaker of ${system} opened: calls to it failed too often and are refused for a while; ` +
        'flows and consumers retry them later.',
      'circuit-open',
      system,
    );
  }
}
