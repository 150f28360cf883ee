/**
 * The local cloud: the whole hub on a laptop, with no AWS account and no Docker. Synthesizes the `local`
 * stage, starts the emulator (or uses the one at `AWS_ENDPOINT_URL`) with the functions' AWS calls going
 * through a fault proxy (local/aws-fault-proxy.ts), starts the stand-ins for the company's systems, deploys the synthesized template with the in-repo deployer (which fails on drift), seeds new
 * random signing secrets, starts the GitHub stand-in (local/github-stand-in.ts) with a seeded API token for the
 * delivery reconciliation, and writes `.switchyard/local.json`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { LOCAL_PORTS, STAGES, UNSEEDED_LOCAL_SOURCES } from '../bin/stages.js';
import { reconcileTokenOutputId, signingSecretOutputId } from '../lib/switchyard-stack.js';
import { type AwsClients, awsClients, LOCAL_REGION } from './aws-clients.js';
import { startAwsFaultProxy } from './aws-fault-proxy.js';
import { deployAssembly, type EmulatorName } from './deployer.js';
import { type Emulator, startEmulator } from './emulator.js';
import { startGitHubStandIn } from './github-stand-in.js';
import { newSigningSecret } from './signing.js';
import { type StandInName, startStandIns } from './stand-ins.js';

const ROOT = join(import.meta.dirname, '..');
const STATE_DIR = join(ROOT, '.switchyard');
/** Where `.switchyard/local.json` is written. */
export const LOCAL_CONFIG_FILE = join(STATE_DIR, 'local.json');
const STACK_NAME = 'Switchyard';
/** MiniStack's account id. */
const LOCAL_ACCOUNT = '000000000000';

/** What `.switchyard/local.json` holds: everything needed to call the local hub and look at its effects. */
export interface LocalCloudConfig {
  emulator: string;
  /** Webhook URL of each source, by source name. */
  webhooks: Record<string, string>;
  /** Signing secret of each source (those of `UNSEEDED_LOCAL_SOURCES` keep the stack's placeholder). */
  secrets: Record<string, string>;
  /**
   * Base URL of each stand-in; `github` plays GitHub (local/github-stand-in.ts: `POST <url>/_deliver` makes
   * the hook deliver, `GET <url>/_deliveries` lists the attempts) when the stage reconciles GitHub deliveries.
   */
  standIns: Record<StandInName, string> & { github?: string };
  /** The fault proxy the functions' AWS calls go through (`POST <url>/_faults`), when this cloud started one. */
  awsFaultProxy?: string;
}

export interface LocalCloud {
  readonly config: LocalCloudConfig;
  /** Stops the stand-ins and the emulator this process started. */
  stop(): Promise<void>;
}

/**
 * Brings the local cloud up. Progress goes to `log`.
 * @throws Error when synthesis, the emulator or the deployment fails (a drift included); what was started is
 *   stopped again first
 */
export async function startLocalCloud(log: (line: string) => void): Promise<LocalCloud> {
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
  };
  try {
    log('synthesizing the local stage');
    const assemblyDir = join(STATE_DIR, 'cdk.out');
    execFileSync(
      join(ROOT, 'node_modules', '.bin', 'cdk'),
      ['synth', '-c', 'stage=local', '-o', assemblyDir, '--quiet'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, CDK_DEFAULT_ACCOUNT: LOCAL_ACCOUNT, CDK_DEFAULT_REGION: LOCAL_REGION },
      },
    );

    let endpoint = process.env.AWS_ENDPOINT_URL;
    let emulatorName: EmulatorName = 'other';
    let awsFaultProxy: string | undefined;
    if (endpoint) {
      log(`using the emulator at AWS_ENDPOINT_URL=${endpoint}`);
    } else {
      log(
        `starting the emulator on 127.0.0.1:${LOCAL_PORTS.emulator}, its functions' AWS calls through a fault proxy`,
      );
      const proxy = await startAwsFaultProxy({
        target: `http://127.0.0.1:${LOCAL_PORTS.emulator}`,
        port: LOCAL_PORTS.awsFaultProxy,
      });
      started.push({ stop: () => proxy.close() });
      const emulator: Emulator = await startEmulator({
        port: LOCAL_PORTS.emulator,
        logFile: join(STATE_DIR, 'emulator.log'),
        functionsEndpoint: proxy.url,
      });
      started.push(emulator);
      endpoint = emulator.endpoint;
      emulatorName = 'ministack';
      awsFaultProxy = proxy.url;
    }

    log('starting the stand-ins for accounting, CRM and the email platform');
    const standIns = await startStandIns({ ports: LOCAL_PORTS });
    for (const standIn of Object.values(standIns)) started.push({ stop: () => standIn.close() });

    log('deploying');
    const clients = awsClients(endpoint);
    const outputs = await deployAssembly({
      clients,
      assemblyDir,
      stackName: STACK_NAME,
      emulator: emulatorName,
      log,
    });

    log('seeding new signing secrets');
    const secrets: Record<string, string> = {};
    const webhooks: Record<string, string> = {};
    const baseUrl = executeApiUrl(endpoint, outputs.WebhookBaseUrl ?? '');
    for (const source of STAGES.local?.sources ?? []) {
      const secretId = outputs[signingSecretOutputId(source.name)];
      if (!secretId) throw new Error(`the stack has no signing secret output for source ${source.name}`);
      webhooks[source.name] = `${baseUrl}/${source.name}`;
      if (UNSEEDED_LOCAL_SOURCES.includes(source.name)) continue;
      const secret = newSigningSecret(source);
      secrets[source.name] = secret;
      await clients.secretsmanager.send(
        new PutSecretValueCommand({ SecretId: secretId, SecretString: secret }),
      );
    }

    const githubStandIn = await startGitHubStandInFor(outputs, webhooks, secrets, clients, log);
    if (githubStandIn) started.push({ stop: () => githubStandIn.close() });

    const config: LocalCloudConfig = {
      emulator: endpoint,
      webhooks,
      secrets,
      standIns: {
        accounting: standIns.accounting.baseUrl,
        crm: standIns.crm.baseUrl,
        email: standIns.email.baseUrl,
        ...(githubStandIn ? { github: githubStandIn.baseUrl } : {}),
      },
      ...(awsFaultProxy ? { awsFaultProxy } : {}),
    };
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(LOCAL_CONFIG_FILE, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    return { config, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * When the local stage reconciles GitHub deliveries: seeds the reconciliation's API token secret with a new
 * random token and starts the GitHub stand-in that accepts it, delivering to the hub's webhook URL of the
 * configured source, signed with that source's seeded secret.
 * @returns the stand-in, or `undefined` when the stage does not reconcile GitHub
 * @throws Error when the stack lacks the token output or the source has no URL or secret
 */
async function startGitHubStandInFor(
  outputs: Record<string, string>,
  webhooks: Record<string, string>,
  secrets: Record<string, string>,
  clients: AwsClients,
  log: (line: string) => void,
) {
  const github = STAGES.local?.reconcile?.github;
  if (!github) return undefined;
  const secretId = outputs[reconcileTokenOutputId('github')];
  const url = webhooks[github.source];
  const secret = secrets[github.source];
  if (!secretId || !url || !secret) {
    throw new Error(
      `the GitHub reconciliation of source ${github.source} lacks its token output, URL or secret`,
    );
  }
  log('seeding the GitHub reconciliation token and starting the GitHub stand-in');
  const token = `github_pat_local_${randomBytes(24).toString('hex')}`;
  await clients.secretsmanager.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: token }));
  return startGitHubStandIn({
    hook: { owner: github.owner, repo: github.repo, hookId: github.hookId },
    token,
    target: { url, secret },
    port: LOCAL_PORTS.github,
  });
}

/**
 * Reads `.switchyard/local.json` and checks that the cloud it describes is up (emulator and stand-ins
 * answer), for tools that use a running local cloud.
 * @returns the config, or `undefined` when there is none or it is not running
 */
export async function runningLocalCloud(): Promise<LocalCloudConfig | undefined> {
  if (!existsSync(LOCAL_CONFIG_FILE)) return undefined;
  const config = JSON.parse(readFileSync(LOCAL_CONFIG_FILE, 'utf8')) as LocalCloudConfig;
  const probes = [
    `${config.emulator}/_ministack/ready`,
    ...Object.values(config.standIns).map((url) => `${url}/_requests`),
  ];
  for (const url of probes) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (!ok) return undefined;
  }
  return config;
}

/**
 * The emulator's URL for an API Gateway stage URL: `https://<api>.execute-api.<region>.amazonaws.com/<stage>/<path>`
 * becomes `<endpoint>/_aws/execute-api/<api>/<stage>/<path>` (the form MiniStack and LocalStack serve).
 */
export function executeApiUrl(endpoint: string, stageUrl: string): string {
  const match = /^https:\/\/([^.]+)\.execute-api\.[^/]+\/(.+?)\/?$/.exec(stageUrl);
  if (!match) throw new Error(`not an API Gateway URL: ${stageUrl}`);
  return `${endpoint}/_aws/execute-api/${match[1]}/${match[2]}`;
}
