/**
 * `mmgenre serve`: the API and the web page over trained runs, on Fastify. Predictions go through
 * a micro-batcher per run (concurrent requests share encoder and model calls) with a bounded
 * queue: under more load than it can answer in time the server refuses at once (503 with
 * Retry-After) instead of letting requests time out. Run ids are checked against the catalog;
 * every error is JSON `{error, message}` naming movies and runs, never server paths; slow clients
 * are cut off and connections capped.
 */
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusyError, DEFAULT_DEADLINE_MS, PredictionBatcher } from '../predict/batcher.js';
import { loadPredictor } from '../predict/predictor.js';
import { encoderThreadsStopped } from '../predict/threaded-encoder.js';
import { NoUsableInputError, PredictorError } from '../predict/types.js';
import { RUN_FILES } from '../runs/run.js';
import { RunCatalog, type RunEntry } from './catalog.js';
import { errorHandler, HttpError, toErrorBody } from './errors.js';
import { MAX_POSTER_BYTES, parsePredictRequest } from './inputs.js';
import { loadRunMovies, movieView, queryMovies, type MovieQuery, type RunMovies } from './movies.js';
import { redactDeep, redactPaths } from './redact.js';
import { checkHost, isLoopback, securityHeaders } from './security.js';
import { loadStaticFiles } from './static.js';
import { ThumbnailCache } from './thumbnails.js';
import { warmUpMovies, warmUpRoutes } from './warm-up.js';

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
  /** Most predictions waiting for a batch before new ones are refused with 503 (default 512). */
  maxQueue?: number;
  /** Each prediction is answered or refused with 503 within this many ms of its arrival (default 1000). */
  deadlineMs?: number;
  /** Time a client has to send a whole request, headers and body, in ms (default 30 s). */
  requestTimeoutMs?: number;
  /** Open connections at most; more are closed at once (default 1024). */
  maxConnections?: number;
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

/** A run's JSON file, or null when absent; a file that cannot be parsed is a broken run (409). */
function readJson(path: string, runId: string): unknown {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (err) {
    throw new HttpError(
      409,
      'broken_run',
      `run '${runId}' has an unreadable ${path.split(/[\\/]/).pop()}: ${redactPaths((err as Error).message)}`,
    );
  }
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
  let metrics: Record<string, unknown> | null = null;
  let broken: string | null = null;
  try {
    metrics = headline(readJson(join(e.dir, RUN_FILES.eval), e.id));
  } catch (err) {
    broken = (err as Error).message;
  }
  if (!e.info && existsSync(join(e.dir, RUN_FILES.run)))
    broken ??= `run '${e.id}' has an unreadable ${RUN_FILES.run}`;
  return {
    id: e.id,
    name: e.info?.name ?? e.id,
    status: broken ? 'broken' : (e.info?.status ?? 'unknown'),
    /** Why the run cannot be shown or used (a corrupt file), or null. */
    broken,
    isDefault: e.isDefault,
    hasModel: e.hasModel,
    data: e.info ? { name: e.info.data.name, format: e.info.data.format, sizes: e.info.data.sizes } : null,
    inputs: e.info?.features.map((f) => ({ input: f.input, encoder: f.encoder, dim: f.dim })) ?? [],
    bestEpoch: e.info?.bestEpoch ?? null,
    metrics,
  };
}

/** How long a refusal (503) waits before it is sent, at most (see the /api/predict route). */
const REFUSAL_HOLD_MS = 100;

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
  /** Connections that have had a 503 (see the /api/predict route's pause). */
  const refusedBefore = new WeakSet<object>();

  const batcherFor = (run: RunEntry): Promise<PredictionBatcher> => {
    if (!run.hasModel) throw new HttpError(409, 'run_not_finished', `run '${run.id}' has no saved model yet`);
    return memoize(batchers, run.id, async () => {
      let predictor;
      try {
        // Posters through the CNN in a thread: the event loop stays free to answer and refuse.
        predictor = await loadPredictor(run.dir, { posterThread: true });
      } catch (err) {
        // A run whose files cannot be loaded (corrupt model.json, missing weights) is the run's
        // fault, not the server's: 409 with what is wrong, never a 500.
        const why = redactPaths((err as Error).message);
        const code = err instanceof PredictorError ? 'run_not_predictable' : 'broken_run';
        throw new HttpError(409, code, `run '${run.id}' cannot be used for predictions: ${why}`);
      }
      return new PredictionBatcher(predictor, {
        maxBatch: opts.maxBatch,
        maxQueue: opts.maxQueue,
        deadlineMs: opts.deadlineMs,
      });
    });
  };
  // Load the default run now: a broken --model fails at start-up, not on the first request.
  let defaultBatcher: PredictionBatcher;
  try {
    defaultBatcher = await batcherFor(catalog.get(defaultId));
  } catch (err) {
    throw err instanceof HttpError ? new PredictorError(err.message) : err;
  }

  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    logger: opts.logger ?? false,
    // JSON bodies carry a base64 poster: 10 MB of image is ~13.4 MB of base64.
    bodyLimit: Math.ceil((MAX_POSTER_BYTES * 4) / 3) + 512 * 1024,
    // Node's own server, for the timeouts Fastify does not pass on: a client must send its whole
    // request (headers and body) within requestTimeout, or gets 408 and is disconnected; the
    // check runs every quarter of that time. Connections over the cap are closed at once.
    serverFactory: (handler) => {
      const server = createServer(
        {
          requestTimeout,
          headersTimeout: Math.min(requestTimeout, 10_000),
          keepAliveTimeout: 5_000,
          connectionsCheckingInterval: Math.max(100, Math.min(30_000, requestTimeout / 4)),
        },
        handler,
      );
      server.maxConnections = opts.maxConnections ?? 1024;
      return server;
    },
  });
  // The predictors' encoder threads end before the server says it has closed.
  app.addHook('onClose', async () => {
    for (const b of batchers.values()) (await b.catch(() => null))?.predictor.dispose();
    batchers.clear();
    await encoderThreadsStopped();
  });
  const loopback = isLoopback((opts.host ?? '127.0.0.1').toLowerCase());
  app.setErrorHandler((err, req, reply) => {
    const { status } = toErrorBody(err);
    // A 500 is a bug: it goes to stderr even when request logging is off.
    if (status >= 500 && !(err instanceof HttpError) && !opts.logger) {
      const e = err as Error;
      process.stderr.write(`mmgenre serve: ${req.method} ${req.url} failed: ${e.stack ?? e.message}\n`);
    }
    errorHandler(err, req, reply);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  // JSON bodies: the parser's own message for malformed JSON, and an honest one for keys that
  // could rewrite prototypes (Fastify's default parser says only "not valid JSON" for both).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') {
      done(new HttpError(400, 'empty_request', 'the JSON body is empty'), undefined);
      return;
    }
    try {
      const value = JSON.parse(text, (key, v: unknown) => {
        if (key === '__proto__') {
          throw new HttpError(
            400,
            'forbidden_key',
            'the JSON body has a "__proto__" key, which is refused (it could change objects\' prototypes): remove it',
          );
        }
        return v;
      }) as unknown;
      done(null, value);
    } catch (err) {
      done(
        err instanceof HttpError
          ? err
          : new HttpError(400, 'malformed_json', `the body is not valid JSON: ${(err as Error).message}`),
        undefined,
      );
    }
  });
  await app.register(multipart, {
    limits: { fileSize: MAX_POSTER_BYTES, files: 1, fields: 10, parts: 12 },
  });
  app.addHook('onRequest', async (req) => {
    requests++;
    if (loopback) checkHost(req);
  });
  // Error answers name movies and runs, never the server's files.
  app.addHook('preSerialization', async (_req, reply, payload) =>
    reply.statusCode >= 400 ? redactDeep(payload) : payload,
  );
  app.addHook('onSend', async (req, reply, payload) => {
    const type = String(reply.getHeader('content-type') ?? '');
    const kind = !type.startsWith('text/html') ? 'api' : req.url.includes('/report') ? 'report' : 'page';
    securityHeaders(reply, kind === 'api' && /^\/(app\.js|style\.css)?$/.test(req.url) ? 'page' : kind);
    return payload;
  });

  // Each route's methods, so that another method on a known path gets 405 with Allow.
  const methods = new Map<string, string[]>();
  const route = (
    method: 'GET' | 'POST',
    url: string,
    handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ): void => {
    app.route({ method, url, handler });
    methods.set(url, [...(methods.get(url) ?? []), method]);
  };

  for (const [path, file] of files) {
    route('GET', path, async (_req, reply) =>
      reply.type(file.type).header('cache-control', 'no-cache').send(file.body),
    );
  }

  route('GET', '/api/health', async () => {
    const mem = process.memoryUsage();
    const batcher = await batchers.get(defaultId);
    return {
      status: 'ok',
      model: defaultId,
      /** The answering process (one of several with `serve --workers N`). */
      pid: process.pid,
      uptimeSeconds: (Date.now() - started) / 1000,
      requests,
      memory: { rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external },
      predictions: batcher?.getStats() ?? null,
    };
  });

  route('POST', '/api/predict', async (req, reply) => {
    const q = req.query as { run?: string };
    const run = catalog.get(q.run ?? defaultId);
    const batcher = await batcherFor(run);
    // The deadline counts from the request's arrival (Fastify's clock starts before the body is read).
    const t0 = performance.now() - reply.elapsedTime;
    let release = (): void => {};
    try {
      // Refused before the upload is read when the queue is full: a 503 costs next to nothing.
      release = batcher.admit();
      const { input, threshold } = await parsePredictRequest(req);
      release();
      const p = await batcher.predict(input, { threshold, receivedAt: t0 });
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
      if (err instanceof BusyError) {
        // A short pause before a 503: a client that retries at once, ignoring Retry-After, would
        // otherwise send thousands of requests a second, and refusing them takes the CPU that
        // answers need. A connection's first refusal is not held: its request may have waited to
        // be accepted (new connections wait under load), a wait the deadline does not see.
        const left = (opts.deadlineMs ?? DEFAULT_DEADLINE_MS) - (performance.now() - t0);
        const hold = refusedBefore.has(req.raw.socket) ? Math.min(REFUSAL_HOLD_MS, left / 2) : 0;
        refusedBefore.add(req.raw.socket);
        if (hold > 1) await sleep(hold);
        // Answered here rather than thrown to the error handler: each refusal costs little.
        return reply
          .code(503)
          .header('retry-after', String(err.retryAfterSeconds))
          .send({ error: 'busy', message: `${err.message}: try again in ${err.retryAfterSeconds} s` });
      }
      throw err;
    } finally {
      release();
    }
  });

  route('GET', '/api/runs', async () => ({ default: defaultId, runs: catalog.list().map(runSummary) }));

  route('GET', '/api/runs/:id', async (req) => {
    const run = catalog.get((req.params as { id: string }).id);
    // Dataset folders, caches and options hold this machine's paths: only their names are shown.
    return redactDeep({
      ...runSummary(run),
      info: run.info,
      eval: readJson(join(run.dir, RUN_FILES.eval), run.id),
      thresholds: readJson(join(run.dir, RUN_FILES.thresholds), run.id),
      spec: readJson(join(run.dir, RUN_FILES.spec), run.id),
    });
  });

  route('GET', '/api/runs/:id/movies', async (req) => {
    const run = catalog.get((req.params as { id: string }).id);
    const m = await memoize(movies, run.id, () => loadRunMovies(run));
    const result = queryMovies(m, req.query as MovieQuery);
    return { run: run.id, labels: m.labels, thresholds: m.thresholdKind, note: m.datasetNote, ...result };
  });

  // One movie in full for the page's movie view, with the gate per genre from the run's model.
  route('GET', '/api/runs/:id/movies/:movieId', async (req) => {
    const { id, movieId } = req.params as { id: string; movieId: string };
    const run = catalog.get(id);
    const m = await memoize(movies, run.id, () => loadRunMovies(run));
    return movieView(run, m, movieId, async (input) => (await batcherFor(run)).predict(input));
  });

  route('GET', '/api/runs/:id/poster/:movieId', async (req, reply) => {
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

  route('GET', '/api/runs/:id/report', async (req, reply) => {
    const run = catalog.get((req.params as { id: string }).id);
    const render = await reportRenderer();
    if (!render)
      throw new HttpError(501, 'report_unavailable', 'the report module is not part of this build');
    const html = await memoize(reports, run.id, () => render([run.dir], { bootstrap: 200 }));
    return reply.type('text/html; charset=utf-8').send(html);
  });

  const ALL = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
  for (const [url, allowed] of methods) {
    const allow = allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed;
    app.route({
      method: ALL.filter((m) => !allowed.includes(m)),
      url,
      handler: async (req, reply) =>
        reply
          .code(405)
          .header('allow', allow.join(', '))
          .send({
            error: 'method_not_allowed',
            message: `${req.method} is not allowed here: use ${allow.join(' or ')}`,
          }),
    });
  }

  // Warm up before the first request (see warm-up.ts): the handlers, then the default run's cost
  // estimates, from new posters (the handlers' warm-up left its own in the poster cache).
  await warmUpRoutes(app, await warmUpMovies(8));
  await defaultBatcher.warmUp(await warmUpMovies(4));
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
