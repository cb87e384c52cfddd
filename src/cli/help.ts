/**
 * The help conventions of every command, applied in one place after the commands register:
 * examples at the end of each `--help`, required options marked, defaults shown as typed.
 */
import type { Command } from 'commander';

/** Examples per command path ('data check'): what a user pastes first. */
export const EXAMPLES: Record<string, string[]> = {
  compare: ['mmgenre compare --published', 'mmgenre compare runs/gmu runs/poster-frozen --published'],
  configs: ['mmgenre configs', 'mmgenre train --config fusion-gmu --data DIR --out runs/gmu'],
  'data check': ['mmgenre data check data/mmimdb', 'mmgenre data check movies_metadata.csv --json'],
  'data fetch': ['mmgenre data fetch mmimdb --dir data/mmimdb', 'mmgenre data fetch mmimdb --hdf5'],
  'data stats': ['mmgenre data stats data/mmimdb', 'mmgenre data stats data/mmimdb --json'],
  'data synth': ['mmgenre data synth --out data/synth --n 300 --seed 1'],
  demo: ['mmgenre demo --quick', 'mmgenre demo --data data/mmimdb --out demo-output'],
  diagram: ['mmgenre diagram --config fusion-gmu --out gmu.svg', 'mmgenre diagram --run runs/gmu --out -'],
  encoders: ['mmgenre encoders', 'mmgenre features extract --data DIR --encoder mobilenet_v2_onnx'],
  eval: [
    'mmgenre eval --predictions runs/gmu/predictions-test.jsonl --data DIR',
    'mmgenre eval --predictions preds.jsonl --data DIR --threshold tuned --bootstrap 1000',
  ],
  'features extract': [
    'mmgenre features extract --data DIR --encoder mobilenet_v2_onnx',
    'mmgenre features extract --data DIR --encoder glove-mean --workers 2',
    'mmgenre features extract --data DIR --encoder mobilenet_v2_onnx --freshness content',
  ],
  'features list': ['mmgenre features list', 'mmgenre features list --json'],
  grid: ['mmgenre grid --data data/tmdb', 'mmgenre grid --data data/tmdb --fusion concat,gmu --seeds 1'],
  info: ['mmgenre info'],
  predict: [
    'mmgenre predict --model runs/gmu --poster poster.jpg --plot "A young wizard..."',
    'mmgenre predict --model runs/gmu --plot-file plot.txt --top 3 --json',
    'echo "A heist goes wrong." | mmgenre predict --model runs/gmu --plot-file -',
    'mmgenre predict --model runs/gmu --data DIR --out predictions.jsonl',
  ],
  report: ['mmgenre report runs/gmu', 'mmgenre report runs/gmu runs/poster-frozen --out report.html'],
  'run-all': ['mmgenre run-all --data DIR --out runs', 'mmgenre run-all --data DIR --out runs --epochs 3'],
  serve: [
    'mmgenre serve --model runs/gmu',
    'mmgenre serve --model runs/gmu --runs runs --port 8080',
    'mmgenre serve --max-queue 256 --deadline 500 --request-timeout 10000',
    'mmgenre serve --workers 1',
  ],
  worker: ['mmgenre worker --queue redis://127.0.0.1:6379/0'],
  train: [
    'mmgenre train --config text-mlp2-meanglove --data DIR --out runs/text-mlp2-meanglove',
    'mmgenre train --config fusion-gmu --data DIR --out runs/gmu',
    'mmgenre train --config poster-frozen --data DIR --out runs --seeds 1,2,3',
  ],
};

/** The command's path below the program: 'predict', 'data check'. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command that runs something (not the program, not a group such as `data`). */
export function leafCommands(program: Command): Command[] {
  const out: Command[] = [];
  const walk = (c: Command): void => {
    for (const sub of c.commands) {
      if (sub.commands.length > 0) walk(sub);
      else out.push(sub);
    }
  };
  walk(program);
  return out;
}

export function applyHelpConventions(program: Command): void {
  for (const cmd of leafCommands(program)) {
    const examples = EXAMPLES[commandPath(cmd)];
    if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
    for (const opt of cmd.options) {
      // Commander lists a required option like any other: say it.
      if (opt.mandatory && !opt.description.endsWith('(required)')) opt.description += ' (required)';
      // Defaults as the user would type them: 8080, not "8080".
      if (typeof opt.defaultValue === 'string' && opt.defaultValueDescription === undefined)
        opt.defaultValueDescription = opt.defaultValue;
    }
  }
}
