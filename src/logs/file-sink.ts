// The size-rotated log file. Written with synchronous appends of batched lines: a file sink at
// warn level sees few records, batching keeps the syscall count low when it is set lower, and
// synchronous writes mean a crash or process.exit() loses nothing that was flushed at 'exit'.
// Any failure (unwritable path, disk full) is reported once on stderr and the file is dropped:
// stdout logging goes on and no 'error' event can reach the application.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Flush at least this often in bytes even inside one long synchronous burst. */
const HIGH_WATER = 64 * 1024;

export interface FileSinkOptions {
  path: string;
  maxSizeBytes: number;
  /** Rotated files kept beside the live one: path.1 (newest) … path.N. */
  maxFiles: number;
  /** Called once, on the first failure; the sink is dead afterwards. */
  onError: (message: string, err: unknown) => void;
}

export class RotatingFileSink {
  private fd = -1;
  private size = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private dead = false;
  private readonly onExit = (): void => this.flush();

  constructor(private readonly opts: FileSinkOptions) {
    try {
      fs.mkdirSync(path.dirname(path.resolve(opts.path)), { recursive: true });
      this.open();
    } catch (err) {
      this.fail(`cannot open log file ${opts.path}; logging to stdout only`, err);
      return;
    }
    // Lines batched in this tick must reach the file even when the process exits synchronously.
    process.on('exit', this.onExit);
  }

  get alive(): boolean {
    return !this.dead;
  }

  write(line: string): void {
    if (this.dead) return;
    const bytes = Buffer.byteLength(line);
    if (this.size + this.pendingBytes + bytes > this.opts.maxSizeBytes && this.size + this.pendingBytes > 0) {
      this.flush();
      this.rotate();
      if (this.dead) return;
    }
    this.pending.push(line);
    this.pendingBytes += bytes;
    if (this.pendingBytes >= HIGH_WATER) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Writes every batched line now. */
  flush(): void {
    if (this.dead || this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      fs.writeSync(this.fd, data);
      this.size += bytes;
    } catch (err) {
      this.fail(`cannot write log file ${this.opts.path}; logging to stdout only`, err);
    }
  }

  close(): void {
    this.flush();
    process.removeListener('exit', this.onExit);
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
    }
    this.fd = -1;
    this.dead = true;
  }

  private open(): void {
    this.fd = fs.openSync(this.opts.path, 'a');
    this.size = fs.fstatSync(this.fd).size;
  }

  private rotate(): void {
    const p = this.opts.path;
    try {
      fs.closeSync(this.fd);
      this.fd = -1;
      // Oldest falls off; the rest shift up by one; the live file becomes .1.
      try {
        fs.unlinkSync(`${p}.${this.opts.maxFiles}`);
      } catch {
        // not there yet
      }
      for (let i = this.opts.maxFiles - 1; i >= 1; i--) {
        try {
          fs.renameSync(`${p}.${i}`, `${p}.${i + 1}`);
        } catch {
          // gap in the sequence: nothing to shift
        }
      }
      fs.renameSync(p, `${p}.1`);
      this.open();
    } catch (err) {
      this.fail(`cannot rotate log file ${p}; logging to stdout only`, err);
    }
  }

  private fail(message: string, err: unknown): void {
    if (this.dead) return;
    this.dead = true;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // nothing more to do
      }
      this.fd = -1;
    }
    process.removeListener('exit', this.onExit);
    this.opts.onError(message, err);
  }
}
