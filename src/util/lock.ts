/**
 * Lock files that say who holds them: host, pid, thread, the process's start time and a heartbeat
 * (the file's mtime, touched every few seconds while held). A lock is stale, and taken over, when
 * its holder is gone: on this host, no process with that pid, or a process with that pid that
 * started at another time (the pid was reused); on any host, a heartbeat older than `staleMs`.
 * Waits end after `waitMs` with an error that names the holder and the file to delete.
 *
 * Hand-written rather than proper-lockfile: holders here are worker threads as well as processes
 * (parallel feature extraction in one process), and a stale lock must be told apart from a live
 * one at once (a reused pid), not only after a staleness period.
 */
import {
  closeSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
  mkdirSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { threadId } from 'node:worker_threads';
import { MmgenreError } from './errors.js';

export interface LockHolder {
  host: string;
  pid: number;
  thread: number;
  /** The holder process's start time (ms since the epoch, from /proc where there is one). */
  processStart: number;
  /** What the holder is doing, e.g. 'extracting features'. */
  purpose: string;
  since: string;
}

export interface LockOptions {
  /** What the holder does, in the error a waiter gets. */
  purpose: string;
  /** How long to wait for a live holder (default: not at all). */
  waitMs?: number;
  /** A heartbeat older than this means the holder is gone (default 60 s; beats every staleMs/4). */
  staleMs?: number;
  /** Called once when a wait starts. */
  onWait?: (holder: string) => void;
}

export class LockBusyError extends MmgenreError {
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder | null,
    waited: boolean,
  ) {
    const who = holder ? describeLockHolder(holder) : 'another process';
    super('busy', `${who} holds ${lockPath}${waited ? ' and did not finish in time' : ''}`, {
      hint: `wait for it to finish; if no such process is running, delete ${lockPath}`,
    });
  }
}

export function describeLockHolder(h: LockHolder): string {
  const thread = h.thread ? `, thread ${h.thread}` : '';
  const host = h.host === hostname() ? '' : ` on ${h.host}`;
  const since = h.since && h.since !== '?' ? `, since ${h.since}` : '';
  return `${h.purpose || 'another process'} (pid ${h.pid}${thread}${host}${since})`;
}

let ownStart: number | null = null;

/** A process's start time in ms since the epoch, or 0 when it cannot be known (no /proc). */
export function processStartTime(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime, in clock ticks after boot); the command name (field 2) may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const boot = Date.now() - uptime * 1000;
    // Rounded to 10 s: the boot time derived from uptime drifts by a few ms between reads.
    return Math.round((boot + (ticks / 100) * 1000) / 10_000) * 10_000;
  } catch {
    return 0;
  }
}

function myStart(): number {
  ownStart ??= processStartTime(process.pid);
  return ownStart;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Locks held by this thread now (another async call of this thread waits for them too). */
const heldHere = new Set<string>();

export function readLockHolder(path: string): LockHolder | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (text.startsWith('{')) return JSON.parse(text) as LockHolder;
    // The older `pid:thread` form.
    const [pid, thread] = text.split(':').map(Number);
    return { host: hostname(), pid, thread: thread || 0, processStart: 0, purpose: '', since: '?' };
  } catch {
    return null;
  }
}

/** Whether the lock at `path` is held by a live holder (another thread, another process, or this thread). */
function holderAlive(path: string, h: LockHolder, staleMs: number): boolean {
  if (h.host !== hostname()) {
    try {
      return Date.now() - statSync(path).mtimeMs < staleMs;
    } catch {
      return false;
    }
  }
  if (!Number.isInteger(h.pid) || h.pid <= 0) return false;
  if (h.pid === process.pid) return h.thread !== threadId || heldHere.has(path);
  if (!pidAlive(h.pid)) return false;
  // A live pid that started at another time is a reused pid: the holder is gone.
  if (h.processStart && processStartTime(h.pid) && processStartTime(h.pid) !== h.processStart) return false;
  try {
    return Date.now() - statSync(path).mtimeMs < staleMs;
  } catch {
    return false;
  }
}

/**
 * Take the lock at `path` (a file). Returns release(). A stale lock is taken over; a live one is
 * waited for up to `waitMs`, then LockBusyError (which names the file to delete).
 */
export async function acquireFileLock(path: string, opts: LockOptions): Promise<() => void> {
  const staleMs = opts.staleMs ?? 60_000;
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + (opts.waitMs ?? 0);
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      const me: LockHolder = {
        host: hostname(),
        pid: process.pid,
        thread: threadId,
        processStart: myStart(),
        purpose: opts.purpose,
        since: new Date().toISOString(),
      };
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      heldHere.add(path);
      beats.set(
        path,
        setInterval(() => {
          const now = new Date();
          try {
            utimesSync(path, now, now);
          } catch {
            // deleted by hand: the next waiter takes it
          }
        }, staleMs / 4).unref(),
      );
      return () => release(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readLockHolder(path);
    if (!holder) {
      await sleep(20); // being written, or released between our two calls
      if (Date.now() < deadline + 1000) continue;
    }
    if (holder && !holderAlive(path, holder, staleMs)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() >= deadline) throw new LockBusyError(path, holder, (opts.waitMs ?? 0) > 0);
    if (!told && holder) opts.onWait?.(describeLockHolder(holder));
    told = true;
    await sleep(Math.min(200, Math.max(10, deadline - Date.now())));
  }
}

const beats = new Map<string, NodeJS.Timeout>();

function release(path: string): void {
  if (!heldHere.delete(path)) return;
  clearInterval(beats.get(path));
  beats.delete(path);
  rmSync(path, { force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
