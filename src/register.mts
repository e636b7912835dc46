// ESM entry of the preload (`--import otelkit/register`). The work happens synchronously in
// the CommonJS preload, so the loader hook and the SDK are in place before the application's
// first import is resolved.
import './register.js';
