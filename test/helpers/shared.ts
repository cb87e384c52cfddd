import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** Project root (tests run from it). */
export const ROOT = resolve('.');

/** `../shared` beside the checkout: real sample data. Absent on a user's machine. */
export const SHARED = resolve(ROOT, '..', 'shared');
export const MMIMDB_SAMPLE = join(SHARED, 'datasets', 'mmimdb-sample');
export const TMDB_SAMPLE = join(SHARED, 'datasets', 'tmdb-sample');
export const SKLEARN_FIXTURE = join(SHARED, 'fixtures', 'metrics-sklearn.json');

/** For node:test's `skip` option: a message when the shared data is absent, false when present. */
export function skipUnless(path: string): string | false {
  return existsSync(path)
    ? false
    : `shared data not found at ${path} (it lives beside the checkout in development)`;
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'mmgenre-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Run the CLI as a user would (bin/mmgenre.js, from source) and capture its output. */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'mmgenre.js'), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, MMGENRE_FROM_SOURCE: '1', MMGENRE_QUIET: '1', ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
