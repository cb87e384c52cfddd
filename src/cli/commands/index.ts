import type { Command } from 'commander';
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

/**
 * Every command lives in its own file in this folder and exports `register(program)`.
 * They are discovered at start-up, so adding a command touches no shared file.
 * A group command (`data check`, `features extract`) uses `group(program, 'data')`.
 */
export type RegisterCommand = (program: Command) => void;

export async function loadCommands(): Promise<RegisterCommand[]> {
  const here = dirname(fileURLToPath(import.meta.url));
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const files = readdirSync(here)
    .filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts') && f !== `index${ext}`)
    .sort();
  const out: RegisterCommand[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { register?: RegisterCommand };
    if (typeof mod.register === 'function') out.push(mod.register);
  }
  return out;
}

/** The parent command `name` (created once), for sub-commands such as `data check`. */
export function group(program: Command, name: string, description = ''): Command {
  const existing = program.commands.find((c) => c.name() === name);
  if (existing) return existing;
  return program.command(name).description(description);
}
