/**
 * The runs a server knows: the --model run plus every run directory under --runs. Run ids are
 * names the catalog hands out; a request's id is looked up among them and never joined into a
 * path, so no id (`../../etc/passwd`, encoded or not) can reach outside the runs.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { readRunInfo, RUN_FILES, type RunInfo } from '../runs/run.js';
import { HttpError } from './errors.js';

export interface RunEntry {
  id: string;
  dir: string;
  /** The --model run (the one /api/predict uses by default). */
  isDefault: boolean;
  info: RunInfo | null;
  /** A finished run with a saved model (predict and browse need one). */
  hasModel: boolean;
}

/** Ids: letters, digits, '.', '_', '-'; never '..' or a path separator. */
const ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;
const RESCAN_MS = 2000;
const MAX_DEPTH = 2;

export function isRunDir(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.run));
}

function safeInfo(dir: string): RunInfo | null {
  try {
    return readRunInfo(dir);
  } catch {
    return null;
  }
}

export class RunCatalog {
  private entries = new Map<string, RunEntry>();
  private scannedAt = 0;
  readonly defaultDir: string;
  readonly runsDir: string | null;

  constructor(defaultRun: string, runsDir?: string) {
    this.defaultDir = resolve(defaultRun);
    this.runsDir = runsDir ? resolve(runsDir) : null;
    this.scan();
  }

  get defaultId(): string {
    for (const e of this.entries.values()) if (e.isDefault) return e.id;
    throw new Error('the default run disappeared from the catalog');
  }

  list(): RunEntry[] {
    if (Date.now() - this.scannedAt > RESCAN_MS) this.scan();
    return [...this.entries.values()];
  }

  /** The run of a request's id: 400 for a malformed id, 404 for an unknown one. */
  get(id: string): RunEntry {
    if (!ID_PATTERN.test(id) || id.includes('..')) {
      throw new HttpError(
        400,
        'invalid_run_id',
        'a run id is letters, digits, ".", "_" and "-" (see GET /api/runs)',
      );
    }
    let entry = this.entries.get(id);
    if (!entry) {
      this.scan(); // a run finished since the last scan
      entry = this.entries.get(id);
    }
    if (!entry) throw new HttpError(404, 'unknown_run', `no run '${id}' (see GET /api/runs)`);
    return entry;
  }

  private scan(): void {
    const dirs: string[] = [this.defaultDir];
    if (this.runsDir && existsSync(this.runsDir)) this.walk(this.runsDir, 0, dirs);
    const next = new Map<string, RunEntry>();
    const seen = new Set<string>();
    for (const dir of dirs) {
      if (seen.has(dir)) continue;
      seen.add(dir);
      const previous = [...this.entries.values()].find((e) => e.dir === dir);
      let id = previous?.id ?? this.idFor(dir);
      for (let k = 2; next.has(id); k++) id = `${this.idFor(dir)}-${k}`;
      next.set(id, {
        id,
        dir,
        isDefault: dir === this.defaultDir,
        info: safeInfo(dir),
        // A late fusion has no model of its own: late.json names its experts (LATE_FILE, not
        // imported from models/fusion/late.ts so that listing runs loads no model code).
        hasModel:
          existsSync(join(dir, RUN_FILES.modelDir, 'model.json')) || existsSync(join(dir, 'late.json')),
      });
    }
    this.entries = next;
    this.scannedAt = Date.now();
  }

  private idFor(dir: string): string {
    const rel =
      this.runsDir && dir.startsWith(this.runsDir + sep) ? relative(this.runsDir, dir) : basename(dir);
    const id = rel
      .split(sep)
      .join('.')
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^\.+/, '');
    return id || 'run';
  }

  private walk(dir: string, depth: number, out: string[]): void {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      const p = join(dir, name);
      try {
        if (!statSync(p).isDirectory()) continue;
      } catch {
        continue;
      }
      if (isRunDir(p)) out.push(p);
      else if (depth + 1 < MAX_DEPTH) this.walk(p, depth + 1, out);
    }
  }
}
