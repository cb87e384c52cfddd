import type { Command } from 'commander';
import { group } from './index.js';
import { CliError } from '../errors.js';
import { join } from 'node:path';
import { env } from '../../env.js';

/** `mmgenre data fetch mmimdb`: download (resumably) and extract MM-IMDB. */
export function register(program: Command): void {
  group(program, 'data', 'datasets: fetch, check, describe, synthesise')
    .command('fetch')
    .description(
      'download a dataset with resume (HTTP Range), size/checksum checks and extraction; ' +
        `sources: archive ${env.mmimdbUrl}, HDF5 ${env.mmimdbHdf5Url} ` +
        '(override with --url or MMGENRE_MMIMDB_URL / MMGENRE_MMIMDB_HDF5_URL)',
    )
    .argument('<dataset>', 'dataset to fetch: mmimdb')
    .option('--dir <dir>', `target folder (default: ${join(env.cacheDir, 'mmimdb')})`)
    .option('--url <url>', 'download from this URL instead of the official one')
    .option(
      '--hdf5',
      "fetch the authors' multimodal_imdb.hdf5 (features, sequences, images) instead of the archive",
    )
    .option('--sha256 <hex>', 'expected SHA-256 of the file; a mismatch fails and removes the download')
    .option('--no-extract', 'keep the archive packed')
    .action(
      async (
        dataset: string,
        opts: { dir?: string; url?: string; hdf5?: boolean; sha256?: string; extract: boolean },
      ) => {
        if (dataset !== 'mmimdb') throw new CliError(`unknown dataset "${dataset}" (available: mmimdb)`);
        if (opts.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(opts.sha256)) {
          throw new CliError('--sha256 must be 64 hex digits');
        }
        const { fetchMmimdb } = await import('../../data/fetch.js');
        const result = await fetchMmimdb({
          dir: opts.dir,
          url: opts.url,
          hdf5: opts.hdf5,
          sha256: opts.sha256,
          extract: opts.extract,
        });
        const d = result.download;
        const lines = [
          d.skipped
            ? `already downloaded: ${d.path} (${d.bytes} bytes)`
            : `downloaded ${d.path} (${d.bytes} bytes${d.resumedFrom ? `, resumed at byte ${d.resumedFrom}` : ''})`,
          `sha256 ${d.sha256}`,
        ];
        if (result.datasetDir)
          lines.push(`${result.extracted ? 'extracted' : 'already extracted'}: ${result.datasetDir}`);
        process.stdout.write(lines.join('\n') + '\n');
      },
    );
}
