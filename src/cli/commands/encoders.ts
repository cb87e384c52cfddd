import type { Command } from 'commander';
import { ENCODER_CATALOG } from '../../features/catalog.js';

/** `mmgenre encoders`: the built-in encoders, one line each. */
export function register(program: Command): void {
  program
    .command('encoders')
    .description('list the built-in encoders (what `features extract --encoder` and configs name)')
    .option('--json', 'print the list as JSON')
    .action((o: { json?: boolean }) => {
      if (o.json) {
        process.stdout.write(`${JSON.stringify(ENCODER_CATALOG, null, 2)}\n`);
        return;
      }
      const names = Object.keys(ENCODER_CATALOG);
      const width = Math.max(...names.map((n) => n.length));
      const lines = names.map((n) => {
        const e = ENCODER_CATALOG[n];
        return `${n.padEnd(width)}  ${e.input.padEnd(9)}  ${e.description}`;
      });
      process.stdout.write(
        `${'name'.padEnd(width)}  ${'reads'.padEnd(9)}  what it computes\n${lines.join('\n')}\n`,
      );
    });
}
