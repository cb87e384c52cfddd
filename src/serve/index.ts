/** The web app and HTTP API over trained runs (`mmgenre serve`). */
export { buildApp, startServer, type ServeOptions, type RunningServer } from './server.js';
export { RunCatalog, type RunEntry } from './catalog.js';
export { HttpError, type ErrorBody } from './errors.js';
export { MAX_POSTER_BYTES } from './inputs.js';
