#!/usr/bin/env node
/** The `mmgenre` command line: a thin layer over the library; one file per command in ./commands. */
import { Command } from 'commander';
import { loadCommands } from './commands/index.js';
import { reportError } from './errors.js';
import { applyHelpConventions } from './help.js';

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command();
  program
    .name('mmgenre')
    .description('Multimodal movie genre classification: posters and plots in, genres out.')
    .version('0.1.0')
    .option('--debug', 'print the stack of an error')
    .showHelpAfterError('(add --help for usage and examples)')
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'mmgenre: ')) });
  for (const register of await loadCommands()) register(program);
  applyHelpConventions(program);
  await program.parseAsync(argv);
}

// The one place errors become exit codes: user errors print their message, anything else one line
// and a pointer to --debug (never a stack trace or a line of minified library code by default).
main().catch((err: unknown) => {
  const debug = process.argv.includes('--debug');
  process.exit(reportError(err, debug, (s) => process.stderr.write(s)));
});
