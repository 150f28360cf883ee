/**
 * Runs the local AWS emulator: MiniStack, the exact version of local/requirements.txt, from the project's
 * venv, on 127.0.0.1, with Lambda handlers as local Node processes (no Docker).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const PYTHON = join(ROOT, '.venv', 'ministack', 'bin', 'python');

export interface Emulator {
  /** e.g. `http://127.0.0.1:4566` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts MiniStack and waits until it answers `/_ministack/ready`. Its output goes to `logFile`.
 * @param port TCP port on 127.0.0.1
 * @throws Error when it exits or is not ready within `timeoutMs`
 */
export async function startEmulator(options: {
  port: number;
  logFile: string;
  /** Where the Lambda handlers send their AWS calls, e.g. a fault proxy in front of the emulator. @default the emulator */
  functionsEndpoint?: string;
  timeoutMs?: number;
}): Promise<Emulator> {
  const endpoint = `http://127.0.0.1:${options.port}`;
  if (await isReady(endpoint))
    throw new Error(`port ${options.port} is taken by a running emulator; stop it first`);
  mkdirSync(join(options.logFile, '..'), { recursive: true });
  const log = createWriteStream(options.logFile);
  const child = spawn(PYTHON, ['-m', 'ministack'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      // The emulator's environment is passed on to every Lambda process: keep it minimal.
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      GATEWAY_PORT: String(options.port),
      BIND_HOST: '127.0.0.1',
      LAMBDA_EXECUTOR: 'local',
      // Step Functions Wait and Retry intervals run instantly on the local cloud.
      SFN_WAIT_SCALE: '0',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      ...(options.functionsEndpoint ? { AWS_ENDPOINT_URL: options.functionsEndpoint } : {}),
    },
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`the emulator exited with code ${code}; see ${options.logFile}`)),
    ),
  );
  exited.catch(() => undefined);

  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (!(await isReady(endpoint))) {
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(
        `the emulator was not ready after ${options.timeoutMs ?? 30_000} ms; see ${options.logFile}`,
      );
    }
    await Promise.race([exited, delay(100)]);
  }
  return { endpoint, stop: () => stopProcess(child) };
}

async function isReady(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/_ministack/ready`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after 5 s; MiniStack stops its Lambda workers on SIGTERM. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
