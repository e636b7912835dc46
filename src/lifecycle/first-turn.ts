// Work that can wait for the event loop's first turn: it runs once the application's main
// module has been evaluated, and a process that ends before that turn (a script, a command run
// with the preload in NODE_OPTIONS) never pays for it, nor opens a port it would not use.
import { guard } from '../diag';

export function onFirstTurn(key: string, what: string, fn: () => void): void {
  // An unref'd immediate keeps nothing alive: it runs on the first turn of a loop that has
  // work, and not at all in a process that is done.
  setImmediate(() => guard(key, what, fn)).unref();
}
