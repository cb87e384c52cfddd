import type { Command } from 'commander';

/** `mmgenre configs`: the shipped model configs, one line each (the first line of each file's header). */
export function register(program: Command): void {
  program
    .command('configs')
    .description('list the shipped model configs (what `train --config` and `run-all --configs` take)')
    .option('--json', 'print the list as JSON')
    .action(async (o: { json?: boolean }) => {
      const { shippedConfigList } = await import('../../runs/config.js');
      const configs = shippedConfigList();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(configs, null, 2)}\n`);
        return;
      }
      const width = Math.max(...configs.map((c) => c.name.length));
      process.stdout.write(configs.map((c) => `${c.name.padEnd(width)}  ${c.description}`).join('\n') + '\n');
    });
}
