/**
 * Made-up movies that a server predicts before it listens (PredictionBatcher.warmUp). The first
 * call through a predictor loads the tokenizer's model, compiles the network's kernels and sizes
 * its buffers: about 1.5 s that the first users would otherwise wait for.
 */
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import type { PredictInput } from '../predict/types.js';

const PLOT =
  'A retired detective returns to his home town to find the killer of an old friend, ' +
  'and falls in love with the only witness.';

/**
 * `n` movies, each with a poster of noise (as costly to decode as a real one, where a plain colour
 * is not) that no earlier call has seen: a poster cache cannot answer for it.
 */
export async function warmUpMovies(n = 4): Promise<PredictInput[]> {
  return Promise.all(
    Array.from({ length: n }, async () => ({
      plot: PLOT,
      poster: await sharp({
        create: {
          width: 182,
          height: 268,
          channels: 3,
          background: { r: 120, g: 90, b: 60 },
          noise: { type: 'gaussian', mean: 110, sigma: 40 },
        },
      })
        .jpeg({ quality: 75 })
        .toBuffer(),
    })),
  );
}

const BOUNDARY = '----mmgenre-warm-up';

/** A movie as the web page uploads it: multipart/form-data with the plot field and the poster file. */
function multipart(movie: PredictInput): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="plot"\r\n\r\n${movie.plot}\r\n`),
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="poster"; filename="poster.jpeg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    movie.poster as Buffer,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/**
 * Requests through the app's own handlers before it listens, uploads and JSON alike. Request
 * handling (routing, multipart parsing, hooks, serialisation) runs as slow, unoptimised code until
 * V8 has seen it run: without this, a burst of connections at start-up waited over a second.
 */
export async function warmUpRoutes(app: FastifyInstance, movies: PredictInput[], rounds = 6): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      movies.flatMap((movie) => [
        app.inject({
          method: 'POST',
          url: '/api/predict',
          headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
          payload: multipart(movie),
        }),
        app.inject({ method: 'POST', url: '/api/predict', payload: { plot: movie.plot } }),
      ]),
    );
  }
}
