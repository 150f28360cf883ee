#!/usr/bin/env node
// Installs what `npm start` and `npm test` need when it is missing or stale, so a fresh clone works with one
// command: node_modules (`npm install` from the lock file, when package-lock.json changed since the last install;
// `npm ci` rejects lock files this npm writes for platform-specific optional packages) and the emulator
// (the exact MiniStack version of local/requirements.txt, in the project-local venv .venv/ministack).
// Plain Node with no dependencies: it runs before node_modules exists.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const fingerprint = (file) =>
  createHash('sha256')
    .update(readFileSync(join(root, file)))
    .digest('hex');
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

function ensure(what, stampFile, inputFile, install) {
  const want = fingerprint(inputFile);
  const stamp = join(root, stampFile);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  console.log(`setup: installing ${what} (from ${inputFile})`);
  install();
  writeFileSync(stamp, fingerprint(inputFile));
}

ensure('node_modules', 'node_modules/.switchyard-installed', 'package-lock.json', () =>
  run('npm', ['install', '--no-audit', '--no-fund']),
);

const venv = join(root, '.venv', 'ministack');
ensure('the emulator', '.venv/ministack/.switchyard-installed', 'local/requirements.txt', () => {
  if (!existsSync(join(venv, 'bin', 'python'))) run('python3', ['-m', 'venv', venv]);
  run(join(venv, 'bin', 'pip'), [
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '-r',
    'local/requirements.txt',
  ]);
});
