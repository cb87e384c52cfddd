/** How the report names a run's dataset: a generated (synthetic) set says so, whatever its layout. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** `synth.json` is what `mmgenre data synth` (and the demo) write beside a generated dataset. */
export function datasetLabel(
  ds: { name: string; root: string } | null | undefined,
  fallback?: string,
): string {
  if (ds && existsSync(join(ds.root, 'synth.json'))) return `synthetic (${ds.name} layout)`;
  return ds?.name ?? fallback ?? 'unknown data';
}
