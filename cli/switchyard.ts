/**
 * The operator CLI: `npm run ops -- <command>`. It finds the hub's resources through the stack's outputs, with
 * the AWS credentials and region of the environment, or, with `--local`, on the local cloud `npm start` runs.
 *
 *   dead-letters              each redrivable dead-letter queue and how many messages it holds
 *   redrive <queue> [--max n] moves a dead-letter queue's messages back to their queue (see cli/redrive.ts)
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Command, InvalidArgumentError } from 'commander';
import { awsClients } from '../local/aws-clients.js';
import { runningLocalCloud } from '../local/cloud.js';
import { depth, redrive } from './redrive.js';

interface Target {
  stack: string;
  local?: boolean;
}

/** The pair of queues behind each name of the stack's `DeadLetterQueues` output. */
type DeadLetterQueues = Record<string, { deadLetterQueueUrl: string; queueUrl: string }>;

async function clients(target: Target): Promise<{ cloudformation: CloudFormationClient; sqs: SQSClient }> {
  if (!target.local) return { cloudformation: new CloudFormationClient({}), sqs: new SQSClient({}) };
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

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('a whole number above 0');
  return number;
}

const program = new Command('switchyard')
  .description('Operate a switchyard hub: look at dead letters and redrive them.')
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

try {
  await program.parseAsync();
} catch (error) {
  console.error(`switchyard: ${(error as Error).message}`);
  process.exitCode = 1;
}
