/**
 * The operator CLI: `npm run ops -- <command>`. It finds the hub's resources through the stack's outputs, with
 * the AWS credentials and region of the environment, or, with `--local`, on the local cloud `npm start` runs.
 *
 *   dead-letters              each redrivable dead-letter queue and how many messages it holds
 *   redrive <queue> [--max n] moves a dead-letter queue's messages back to their queue (see cli/redrive.ts)
 *   history <event key>      the event's ledger entries, oldest first (see cli/ledger.ts)
 *   failures <source> [--since <ISO time or minutes>] [--limit n]
 *                             the source's recent failures in the ledger, newest first
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Command, InvalidArgumentError } from 'commander';
import { EVENT_LEDGER_OUTPUT_ID } from '../lib/switchyard-stack.js';
import { awsClients } from '../local/aws-clients.js';
import { runningLocalCloud } from '../local/cloud.js';
import { eventHistory, formatRow, parseSince, recentFailures } from './ledger.js';
import { depth, redrive } from './redrive.js';

interface Target {
  stack: string;
  local?: boolean;
}

/** The pair of queues behind each name of the stack's `DeadLetterQueues` output. */
type DeadLetterQueues = Record<string, { deadLetterQueueUrl: string; queueUrl: string }>;

async function clients(
  target: Target,
): Promise<{ cloudformation: CloudFormationClient; sqs: SQSClient; dynamodb: DynamoDBClient }> {
  if (!target.local) {
    return {
      cloudformation: new CloudFormationClient({}),
      sqs: new SQSClient({}),
      dynamodb: new DynamoDBClient({}),
    };
  }
  const cloud = await runningLocalCloud();
  if (!cloud) throw new Error('the local cloud is not running: start it with `npm start`');
  return awsClients(cloud.emulator);
}

async function deadLetterQueues(target: Target): Promise<{ sqs: SQSClient; queues: DeadLetterQueues }> {
  const { cloudformation, sqs } = await clients(target);
  const { Stacks = [] } = await cloudformation.send(new DescribeStacksCommand({ StackName: target.stack }));
  const output = Stacks[0]?.Outputs?.find((candidate) => candidate.OutputKey === 'DeadLetterQueues');
  if (!output?.OutputValue) throw new Error(`stack ${target.stack} has no DeadLetterQueues output`);
  return { sqs, queues: JSON.parse(output.OutputValue) as DeadLetterQueues };
}

/** The event ledger's table, from the stack's `EventLedgerTableName` output. */
async function ledgerTable(target: Target): Promise<{ dynamodb: DynamoDBClient; tableName: string }> {
  const { cloudformation, dynamodb } = await clients(target);
  const { Stacks = [] } = await cloudformation.send(new DescribeStacksCommand({ StackName: target.stack }));
  const output = Stacks[0]?.Outputs?.find((candidate) => candidate.OutputKey === EVENT_LEDGER_OUTPUT_ID);
  if (!output?.OutputValue) throw new Error(`stack ${target.stack} has no ${EVENT_LEDGER_OUTPUT_ID} output`);
  return { dynamodb, tableName: output.OutputValue };
}

function since(value: string): Date {
  try {
    return parseSince(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('a whole number above 0');
  return number;
}

const program = new Command('switchyard')
  .description('Operate a switchyard hub: look at dead letters, redrive them, read the event ledger.')
  .option('--stack <name>', 'the stack of the hub', 'Switchyard')
  .option('--local', 'use the local cloud that `npm start` runs')
  .showHelpAfterError();

program
  .command('dead-letters')
  .description('list each redrivable dead-letter queue and how many messages it holds')
  .action(async () => {
    const { sqs, queues } = await deadLetterQueues(program.opts<Target>());
    for (const [name, { deadLetterQueueUrl }] of Object.entries(queues)) {
      console.log(`${name.padEnd(20)} ${await depth(sqs, deadLetterQueueUrl)}`);
    }
  });

program
  .command('redrive')
  .description('move the messages of a dead-letter queue back to their queue, once the cause is fixed')
  .argument('<queue>', 'which one, as `dead-letters` names it (e.g. inbox)')
  .option('--max <n>', 'move at most this many (default: as many as it holds now)', positiveInteger)
  .action(async (name: string, options: { max?: number }) => {
    const { sqs, queues } = await deadLetterQueues(program.opts<Target>());
    const queue = queues[name];
    if (!queue) {
      throw new InvalidArgumentError(`no queue "${name}"; known: ${Object.keys(queues).join(', ')}`);
    }
    const result = await redrive(sqs, {
      from: queue.deadLetterQueueUrl,
      to: queue.queueUrl,
      ...(options.max ? { max: options.max } : {}),
      onProgress: ({ moved, failed }) => console.error(`moved ${moved}, failed ${failed}`),
    });
    console.log(
      `redrive ${name}: ${result.moved} moved, ${result.failed} failed (they stay in its dead-letter queue)`,
    );
    if (result.failed > 0) process.exitCode = 1;
  });

program
  .command('history')
  .description(
    "print an event's ledger entries, oldest first: time, stage, component, type, details, trace id",
  )
  .argument('<eventKey>', 'the event key, <source>:<event id> (e.g. stripe:evt_1QxD8r…)')
  .action(async (eventKey: string) => {
    const { dynamodb, tableName } = await ledgerTable(program.opts<Target>());
    const rows = await eventHistory(dynamodb, tableName, eventKey);
    if (rows.length === 0) {
      console.error(`no ledger entries for ${eventKey} (entries are kept for the ledger's retention)`);
      process.exitCode = 1;
    }
    for (const row of rows) console.log(formatRow(row));
  });

program
  .command('failures')
  .description("print a source's recent failures (step failed, failed, dead-lettered), newest first")
  .argument('<source>', 'the source name, e.g. stripe')
  .option('--since <time>', 'an ISO 8601 time, or a number of minutes ago', since, since('1440'))
  .option('--limit <n>', 'print at most this many', positiveInteger, 50)
  .action(async (source: string, options: { since: Date; limit: number }) => {
    const { dynamodb, tableName } = await ledgerTable(program.opts<Target>());
    const rows = await recentFailures(dynamodb, tableName, source, options);
    if (rows.length === 0) console.error(`no failures of ${source} since ${options.since.toISOString()}`);
    for (const row of rows) console.log(formatRow(row, { withEventKey: true }));
  });

try {
  await program.parseAsync();
} catch (error) {
  console.error(`switchyard: ${(error as Error).message}`);
  process.exitCode = 1;
}
