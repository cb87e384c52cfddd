/**
 * `mmgenre serve`: the API and the web page over trained runs, on Fastify. Predictions go through
 * a micro-batcher per run (concurrent requests share encoder and model calls); run ids are
 * checked against the catalog; every error is JSON `{error, message}`.
 */
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PredictionBatcher } from '../predict/batcher.js';
import { loadPredictor } from '../predict/predictor.js';
import { NoUsableInputError, PredictorError } from '../predict/types.js';
import { RUN_FILES } from '../train/run.js';
import { RunCatalog, type RunEntry } from './catalog.js';
import { errorHandler, HttpError } from './errors.js';
import { MAX_POSTER_BYTES, parsePredictRequest } from './inputs.js';
import { loadRunMovies, movieView, queryMovies, type MovieQuery, type RunMovies } from './movies.js';
import { loadStaticFiles } from './static.js';
import { ThumbnailCache } from './thumbnails.js';

export interface ServeOptions {
  /** The run /api/predict uses by default. */
  model: string;
  /** A folder of runs to list and browse as well. */
  runsDir?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fastify request logging (default off). */
  logger?: boolean;
  /** Largest micro-batch of concurrent predictions (default 32). */
  maxBatch?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  close(): Promise<void>;
}

type ReportRenderer = (runDirs: string[], opts?: Record<string, unknown>) => Promise<string>;

/** The report module is written separately and may be absent from a build: looked up at run time. */
async function reportRenderer(): Promise<ReportRenderer | null> {
  const specifier = '../report/index.js';
  try {
    const mod = (await import(specifier)) as { renderReport?: ReportRenderer };
    return typeof mod.renderReport === 'function' ? mod.renderReport : null;
  } catch {
    return null;
  }
}

function memoize<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) {
    p = make();
    cache.set(key, p);
    // A failure is not cached: the next request tries again (e.g. after the run finished).
    p.catch(() => cache.delete(key));
  }
  return p;
}

function readJson(path: string): unknown {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as unknown) : null;
}

function headline(evalJson: unknown): Record<string, unknown> | null {
  const e = evalJson as {
    test?: Record<string, { f1?: unknown }>;
    dev?: Record<string, { f1?: unknown }>;
  } | null;
  if (!e) return null;
  const pick = (s?: Record<string, { f1?: unknown }>) =>
    s ? { at05: s.at05?.f1 ?? null, tuned: s.tuned?.f1 ?? null } : null;
  return { test: pick(e.test), dev: pick(e.dev) };
}

function runSummary(e: RunEntry) {
  return {
    id: e.id,
    name: e.info?.name ?? e.id,
    status: e.info?.status ?? 'unknown',
    isDefault: e.isDefault,
    hasModel: e.hasModel,
    data: e.info ? { name: e.info.data.name, format: e.info.data.format, sizes: e.info.data.sizes } : null,
    inputs: e.info?.features.map((f) => ({ input: f.input, encoder: f.encoder, dim: f.dim })) ?? [],
    bestEpoch: e.info?.bestEpoch ?? null,
    metrics: headline(readJson(join(e.dir, RUN_FILES.eval))),
  };
}

/** Build the app (routes registered, nothing listening yet). */
export async function buildApp(opts: ServeOptions): Promise<FastifyInstance> {
  const catalog = new RunCatalog(opts.model, opts.runsDir);
  const defaultId = catalog.defaultId;
  const batchers = new Map<string, Promise<PredictionBatcher>>();
  const movies = new Map<string, Promise<RunMovies>>();
  const reports = new Map<string, Promise<string>>();
  const thumbs = new ThumbnailCache();
  const files = loadStaticFiles();
  const started = Date.now();
  let requests = 0;

  const batcherFor = (run: RunEntry): Promise<PredictionBatcher> => {
    if (!run.hasModel) throw new HttpError(409, 'run_not_finished', `run '${run.id}' has no saved model yet`);
    return memoize(batchers, run.id, async () => {
      try {
        return new PredictionBatcher(await loadPredictor(run.dir), opts.maxBatch);
      } catch (err) {
        if (err instanceof PredictorError) throw new HttpError(409, 'run_not_predictable', err.message);
        throw err;
      }
    });
  };
  // Load the default run now: a broken --model fails at start-up, not on the first request.
  await batcherFor(catalog.get(defaultId));

  const app = Fastify({
    logger: opts.logger ?? false,
    // JSON bodies carry a base64 poster: 10 MB of image is ~13.4 MB of base64.
    bodyLimit: Math.ceil((MAX_POSTER_BYTES * 4) / 3) + 512 * 1024,
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  await app.register(multipart, {
    limits: { fileSize: MAX_POSTER_BYTES, files: 1, fields: 10, parts: 12 },
  });
  app.addHook('onRequest', async () => {
    requests++;
  });

  for (const [route, file] of files) {
    app.get(route, async (_req, reply) =>
      reply.type(file.type).header('cache-control', 'no-cache').send(file.body),
    );
  }

  app.get('/api/health', async () => {
    const mem = process.memoryUsage();
    const batcher = await batchers.get(defaultId);
    return {
      status: 'ok',
      model: defaultId,
      uptimeSeconds: (Date.now() - started) / 1000,
      requests,
      memory: { rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external },
      predictions: batcher?.getStats() ?? null,
    };
  });

  app.post('/api/predict', async (req) => {
    const q = req.query as { run?: string };
    const run = catalog.get(q.run ?? defaultId);
    const { input, threshold } = await parsePredictRequest(req);
    const batcher = await batcherFor(run);
    const t0 = performance.now();
    try {
      const p = await batcher.predict(input, { threshold });
      const ranked = Object.entries(p.scores)
        .sort((a, b) => b[1] - a[1])
        .map(([genre, probability]) => ({
          genre,
          probability,
          threshold: p.thresholds.values[genre],
          predicted: p.genres.includes(genre),
        }));
      return { run: run.id, ...p, ranked, millis: performance.now() - t0 };
    } catch (err) {
      if (err instanceof NoUsableInputError) {
        throw new HttpError(422, 'no_usable_input', err.message, err.missing);
      }
      throw err;
    }
  });

  app.get('/api/runs', async () => ({ default: defaultId, runs: catalog.list().map(runSummary) }));

  app.get('/api/runs/:id', async (req) => {
    const run = catalog.get((req.params as { id: string }).id);
    return {
      ...runSummary(run),
      info: run.info,
      eval: readJson(join(run.dir, RUN_FILES.eval)),
      thresholds: readJson(join(run.dir, RUN_FILES.thresholds)),
      spec: readJson(join(run.dir, RUN_FILES.spec)),
    };
  });

  app.get('/api/runs/:id/movies', async (req) => {
    const run = catalog.get((req.params as { id: string }).id);
    const m = await memoize(movies, run.id, () => loadRunMovies(run));
    const result = queryMovies(m, req.query as MovieQuery);
    return { run: run.id, labels: m.labels, thresholds: m.thresholdKind, note: m.datasetNote, ...result };
  });

  // One movie in full for the page's movie view, with the gate per genre from the run's model.
  app.get('/api/runs/:id/movies/:movieId', async (req) => {
    const { id, movieId } = req.params as { id: string; movieId: string };
    const run = catalog.get(id);
    const m = await memoize(movies, run.id, () => loadRunMovies(run));
    return movieView(run, m, movieId, async (input) => (await batcherFor(run)).predict(input));
  });

  app.get('/api/runs/:id/poster/:movieId', async (req, reply) => {
    const { id, movieId } = req.params as { id: string; movieId: string };
    const run = catalog.get(id);
    const m = await memoize(movies, run.id, () => loadRunMovies(run));
    // Only ids of the run's own movies are looked up; the path comes from the dataset, never the URL.
    const path = m.movies.some((mv) => mv.id === movieId) ? m.posterPath(movieId) : null;
    if (!path) throw new HttpError(404, 'no_poster', `no poster for movie '${movieId}' in run '${run.id}'`);
    let jpeg: Buffer;
    try {
      jpeg = await thumbs.get(path);
    } catch (err) {
      throw new HttpError(
        404,
        'no_poster',
        `the poster of '${movieId}' cannot be read: ${(err as Error).message}`,
      );
    }
    return reply.type('image/jpeg').header('cache-control', 'max-age=3600').send(jpeg);
  });

  app.get('/api/runs/:id/report', async (req, reply) => {
    const run = catalog.get((req.params as { id: string }).id);
    const render = await reportRenderer();
    if (!render)
      throw new HttpError(501, 'report_unavailable', 'the report module is not part of this build');
    const html = await memoize(reports, run.id, () => render([run.dir], { bootstrap: 200 }));
    return reply.type('text/html; charset=utf-8').send(html);
  });

  return app;
}

/** Build and listen (127.0.0.1:8080 by default). */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const app = await buildApp(opts);
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 8080 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8080);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { app, url: `http://${shownHost}:${port}`, port, close: () => app.close() };
}
