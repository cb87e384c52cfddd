import type { Command } from 'commander';
import { createRequire } from 'node:module';
import { env } from '../../env.js';

/** `mmgenre info`: versions and settings, useful in bug reports. */
export function register(program: Command): void {
  program
    .command('info')
    .description('print versions of mmgenre, Node and the engines, and the settings in use')
    .action(() => {
      const require = createRequire(import.meta.url);
      const version = (name: string): string => {
        try {
          return (require(`${name}/package.json`) as { version: string }).version;
        } catch {
          return 'not installed';
        }
      };
      const rows: Array<[string, string]> = [
        ['node', process.version],
        ['@tensorflow/tfjs-core', version('@tensorflow/tfjs-core')],
        ['@tensorflow/tfjs-backend-wasm', version('@tensorflow/tfjs-backend-wasm')],
        ['onnxruntime-node', version('onnxruntime-node')],
        ['sharp', version('sharp')],
        ['cache dir', env.cacheDir],
        ['runs dir', env.runsDir],
      ];
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(32)} ${v}\n`);
    });
}
