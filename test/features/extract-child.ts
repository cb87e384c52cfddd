/**
 * Runs one extraction in its own process, for the kill-and-resume tests (a test SIGKILLs it).
 * Usage: node --import tsx test/features/extract-child.ts DATASET CACHE CHUNK_ROWS WORKERS [ENCODER]
 */
import { loadDataset } from '../../src/data/load.js';
import { extractFeaturesWithReport } from '../../src/features/extract.js';
import { IMAGE_STATS } from './fixtures.js';

const [data, cacheDir, chunkRows, workers, encoder = IMAGE_STATS] = process.argv.slice(2);
const dataset = await loadDataset(data);
const { report } = await extractFeaturesWithReport(dataset, encoder, {
  cacheDir,
  chunkRows: Number(chunkRows),
  workers: Number(workers),
  batchSize: 4,
  progress: false,
});
process.stdout.write(JSON.stringify(report) + '\n');
