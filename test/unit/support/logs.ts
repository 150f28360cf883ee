/** Captures what a function writes to stdout, stderr and the console (Powertools Logger writes to stdout). */
import { vi } from 'vitest';

export interface CapturedLogs {
  /** Everything written since the capture started, as one string. */
  text(): string;
  /** Each JSON log line written to stdout, parsed. */
  entries(): Record<string, unknown>[];
  /** Forgets what was written so far (the capture goes on). */
  clear(): void;
  restore(): void;
}

export function captureLogs(): CapturedLogs {
  const written: string[] = [];
  const record = (chunk: unknown) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(record),
    vi.spyOn(process.stderr, 'write').mockImplementation(record),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        written.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
      }),
    ),
  ];
  return {
    text: () => written.join('\n'),
    entries: () =>
      written
        .flatMap((chunk) => chunk.split('\n'))
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    clear: () => {
      written.length = 0;
    },
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}
