/**
 * The model shipped inside the package (models/default/, built by `npm run build-model` from the
 * MM-IMDB sample; see its MODEL_CARD.md): what predict, serve and `loadPredictor()` use when no
 * run is given. Found from this module's own location, so it works from a clone (TypeScript
 * sources), from the compiled package and as an installed dependency; nothing is downloaded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MmgenreError } from '../util/errors.js';

export const DEFAULT_MODEL_NAME = 'default';

/** The package's root: the nearest folder above this module whose package.json is mmgenre's. */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'mmgenre') return dir;
      } catch {
        // not ours: keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** The shipped default model's run folder; throws when the package lacks it. */
export function defaultModelDir(): string {
  const root = packageRoot();
  const dir = root ? join(root, 'models', DEFAULT_MODEL_NAME) : null;
  if (!dir || !existsSync(join(dir, 'model', 'model.json')))
    throw new MmgenreError('prerequisite', 'the shipped default model is missing from this installation', {
      hint: 'pass a trained run with --model RUN, or rebuild it with `npm run build-model` in a clone',
    });
  return dir;
}
