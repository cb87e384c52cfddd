import type { Command } from 'commander';
import { CliError } from '../errors.js';

interface DiagramCliOptions {
  config?: string;
  run?: string;
  out?: string;
  direction: string;
}

/** `mmgenre diagram`: the model's diagram (SVG) from a config or a run's spec. */
export function register(program: Command): void {
  program
    .command('diagram')
    .description("write a model's diagram as SVG, laid out from its spec (from a config or a trained run)")
    .option('--config <name-or-file>', 'a shipped config name or a config YAML file')
    .option('--run <dir>', 'a run directory (uses its spec.json)')
    .option('--out <file>', 'SVG file to write ("-" for stdout; default <model name>.svg)')
    .option('--direction <dir>', 'layout direction: right or down', 'right')
    .action(async (o: DiagramCliOptions) => {
      if (Boolean(o.config) === Boolean(o.run))
        throw new CliError('give exactly one of --config NAME_OR_FILE or --run DIR');
      const direction = o.direction.toUpperCase();
      if (direction !== 'RIGHT' && direction !== 'DOWN')
        throw new CliError(`--direction must be right or down, not "${o.direction}"`);
      const { writeFileAtomic } = await import('../../util/atomic.js');
      const { renderSpecDiagram } = await import('../../report/diagram.js');
      const { specFromConfig, specFromRun } = await import('../../report/spec-source.js');
      const { loadConfig } = await import('../../runs/config.js');
      let spec;
      let name: string;
      if (o.config) {
        const config = loadConfig(o.config);
        spec = await specFromConfig(config);
        name = config.name;
      } else {
        spec = specFromRun(o.run!);
        name = spec.family;
      }
      const svg = await renderSpecDiagram(spec, { direction });
      if (o.out === '-') {
        process.stdout.write(svg + '\n');
        return;
      }
      const out = o.out ?? `${name}.svg`;
      writeFileAtomic(out, svg + '\n');
      process.stdout.write(`wrote ${out} (${spec.inputs.length + spec.nodes.length} nodes)\n`);
    });
}
