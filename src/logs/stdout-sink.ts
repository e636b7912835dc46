// Where the logger's stdout lines go: the injected stream (tests), else process.stdout, written
// straight to fd 1 when that is what the stream would do anyway.
import * as fs from 'node:fs';
import { state } from './logging-state';

export function out(): NodeJS.WritableStream {
  return state.out ?? process.stdout;
}

// When stdout is a file or /dev/null, process.stdout is a SyncWriteStream: every write is already
// a synchronous fs.writeSync(1). Calling that directly skips the Writable machinery with the same
// ordering and durability. Pipes and TTYs (non-blocking fds) keep going through the stream, and so
// does a process.stdout.write that someone replaced (test runners capture output that way).
let directFd: 'unknown' | 'yes' | 'no' = 'unknown';
let stdoutWrite: unknown;
export function writeOut(line: string): void {
  if (state.out !== undefined) {
    state.out.write(line);
    return;
  }
  if (directFd === 'unknown') {
    stdoutWrite = process.stdout.write;
    directFd = 'no';
    try {
      const st = fs.fstatSync(1);
      if ((st.isFile() || st.isCharacterDevice()) && !process.stdout.isTTY) directFd = 'yes';
    } catch {
      // no fd 1: the stream decides
    }
  }
  if (directFd === 'yes' && process.stdout.write === stdoutWrite) fs.writeSync(1, line);
  else process.stdout.write(line);
}

/** For resetLogging: look at fd 1 again on the next line. */
export function resetStdoutSink(): void {
  directFd = 'unknown';
}
