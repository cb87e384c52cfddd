#!/usr/bin/env node
/** The `mmgenre` command line: a thin layer over the library; one file per command in ./commands. */
import { Command } from 'commander';
import { loadCommands } from './commands/index.js';
import { CliError } from './errors.js';

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command();
  program
    .name('mmgenre')
    .description('Multimodal movie genre classification: posters and plots in, genres out.')
    .version('0.1.0')
    .showHelpAfterError();
  for (const register of await loadCommands()) register(program);
  await program.parseAsync(argv);
}

main().catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`mmgenre: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`mmgenre: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
