// Built-in modules that otelkit needs for itself, loaded past the require hooks: through
// require, the lazy loader would take otelkit's own use of node:http for the application's and
// enable the http instrumentation (milliseconds and megabytes in a process that serves no HTTP),
// and require-in-the-middle would remember the module as seen unpatched.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the Module class itself, for its _load
import Module = require('node:module');

interface ModuleLoad {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
}

type GetBuiltinModule = (id: string) => unknown;

// Node's own, taken when otelkit loads, before require-in-the-middle or the lazy https stub wrap
// it. Module._load is the fallback for Node 20 releases without it (before 20.16): in-thread
// module hooks (module.registerHooks, Node 22.15+) see Module._load too, and import-in-the-middle's
// took `node:http` there for a file to open.
const getBuiltinModule = (process as { getBuiltinModule?: GetBuiltinModule }).getBuiltinModule?.bind(process);

export function loadBuiltin<T>(id: `node:${string}`): T {
  if (getBuiltinModule !== undefined) return getBuiltinModule(id) as T;
  return (Module as unknown as ModuleLoad)._load(id, null, false) as T;
}
