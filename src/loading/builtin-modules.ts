// Built-in modules that otelkit needs for itself, loaded past the require hooks: through
// require, the lazy loader would take otelkit's own use of node:http for the application's and
// enable the http instrumentation (milliseconds and megabytes in a process that serves no HTTP),
// and require-in-the-middle would remember the module as seen unpatched.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the Module class itself, for its _load
import Module = require('node:module');

interface ModuleLoad {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
}

export function loadBuiltin<T>(id: `node:${string}`): T {
  return (Module as unknown as ModuleLoad)._load(id, null, false) as T;
}
