// Health registry and the /livez and /readyz handlers. Checks are application code that talks to
// databases: they may hang, throw synchronously or reject with messages that carry credentials,
// so every path here is defensive and nothing ever throws into the host application.
// A failed check's error is described by check-error.ts; framework-adapters.ts mounts the
// handlers on the application's own server (plain http, express, fastify).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cutError, describeError, fallbackRedact } from './check-error';
import { fastifyPlugin, nodeHandler, sendJson, type Answer, type FastifyPlugin, type Next, type NodeHandler } from './framework-adapters';

export interface CheckOptions {
  timeoutMs?: number;
  /** A failing critical check makes the service unhealthy (503); a non-critical one degraded (200). Default true. */
  critical?: boolean;
}

/** Resolves or returns: ok. Throws or rejects: failed. */
export type CheckFn = () => unknown | Promise<unknown>;

export interface CheckResult {
  status: 'ok' | 'failed' | 'timeout';
  durationMs: number;
  critical: boolean;
  error?: string;
}

export interface ReadyReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  /** Set when the report did not come from running the checks (shutdown). */
  reason?: string;
  checks: Record<string, CheckResult>;
}

export interface HealthRegistryOptions {
  timeoutMs: number;
  redact?: (message: string) => string;
}

interface Registered {
  fn: CheckFn;
  /** Undefined: the registry's default, which start() may set after the check was added. */
  timeoutMs: number | undefined;
  critical: boolean;
  /** The invocation that outlived its timeout, still unsettled: reused rather than piled upon. */
  pending?: Promise<unknown>;
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;

function warn(message: string): void {
  try {
    process.stderr.write(`otelkit: ${message}\n`);
  } catch {}
}

function isPositiveFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

export class HealthRegistry {
  private readonly checks = new Map<string, Registered>();
  private timeoutMs: number;
  private redactFn: ((message: string) => string) | undefined;
  private inFlight: Promise<ReadyReport> | undefined;
  private shutdown = false;

  constructor(opts: HealthRegistryOptions) {
    if (isPositiveFinite(opts?.timeoutMs)) {
      this.timeoutMs = opts.timeoutMs;
    } else {
      warn(`health: invalid timeoutMs ${String(opts?.timeoutMs)}, using ${DEFAULT_HEALTH_TIMEOUT_MS}`);
      this.timeoutMs = DEFAULT_HEALTH_TIMEOUT_MS;
    }
    this.redactFn = typeof opts?.redact === 'function' ? opts.redact : undefined;
  }

  /** Applies the validated configuration; checks added earlier without a timeout follow it. */
  configure(opts: Partial<HealthRegistryOptions>): void {
    if (isPositiveFinite(opts.timeoutMs)) this.timeoutMs = opts.timeoutMs;
    if (typeof opts.redact === 'function') this.redactFn = opts.redact;
  }

  get shuttingDown(): boolean {
    return this.shutdown;
  }

  addCheck(name: string, fn: CheckFn, opts?: CheckOptions): void {
    try {
      if (typeof name !== 'string' || name.trim() === '') {
        warn(`health.addCheck: the name must be a non-empty string (got ${typeof name}); check ignored`);
        return;
      }
      if (typeof fn !== 'function') {
        warn(`health.addCheck("${name}"): the check must be a function (got ${typeof fn}); check ignored`);
        return;
      }
      let timeoutMs: number | undefined;
      if (opts?.timeoutMs !== undefined) {
        if (isPositiveFinite(opts.timeoutMs)) timeoutMs = opts.timeoutMs;
        else warn(`health.addCheck("${name}"): invalid timeoutMs ${String(opts.timeoutMs)}, using ${this.timeoutMs}`);
      }
      const critical = opts?.critical === undefined ? true : Boolean(opts.critical);
      this.checks.set(name, { fn, timeoutMs, critical });
    } catch {}
  }

  removeCheck(name: string): boolean {
    return this.checks.delete(name);
  }

  markShuttingDown(): void {
    this.shutdown = true;
  }

  /** Runs every check in parallel; concurrent callers share the run that is in flight. */
  check(): Promise<ReadyReport> {
    const shuttingDown = (): ReadyReport => ({ status: 'unhealthy', reason: 'shutting down', checks: {} });
    if (this.shutdown) return Promise.resolve(shuttingDown());
    if (!this.inFlight) {
      const run = this.runAll().finally(() => {
        if (this.inFlight === run) this.inFlight = undefined;
      });
      this.inFlight = run;
    }
    // A run that started before shutdown began must not answer "healthy" after it.
    return this.inFlight.then((report) => (this.shutdown ? shuttingDown() : report));
  }

  readonly livez: NodeHandler = (req, res) => {
    sendJson(res, 200, '{"status":"ok"}', req?.method === 'HEAD');
  };

  readonly readyz: NodeHandler = (req, res) => {
    const headOnly = req?.method === 'HEAD';
    this.readyAnswer().then(
      (a) => sendJson(res, a.statusCode, a.body, headOnly),
      () => sendJson(res, 503, '{"status":"unhealthy"}', headOnly),
    );
  };

  /**
   * One function that works as a plain `http` request listener (404 for other paths) and as
   * express/connect middleware (other paths go to next()).
   */
  handler(): (req: IncomingMessage, res: ServerResponse, next?: Next) => void {
    return nodeHandler(this);
  }

  /** Fastify plugin registering GET /livez and /readyz (HEAD comes with GET in fastify). */
  fastifyPlugin(): FastifyPlugin {
    return fastifyPlugin(
      () => this.readyAnswer(),
      (err) => warn(`health: could not register fastify routes: ${cutError(this.redact(describeError(err)))}`),
    );
  }

  /** The /readyz answer; also what a cluster worker sends its primary (cluster/worker-channel.ts). */
  async readyAnswer(): Promise<Answer> {
    let report: ReadyReport;
    try {
      report = await this.check();
    } catch {
      report = { status: 'unhealthy', reason: 'health check failed', checks: {} };
    }
    const checks: Record<string, Omit<CheckResult, 'critical'> & { critical?: false }> = {};
    for (const [name, r] of Object.entries(report.checks)) {
      checks[name] = { status: r.status, durationMs: r.durationMs };
      if (!r.critical) checks[name].critical = false;
      if (r.error !== undefined) checks[name].error = r.error;
    }
    const body: Record<string, unknown> = { status: report.status };
    if (report.reason) body.reason = report.reason;
    body.checks = checks;
    return { statusCode: report.status === 'unhealthy' ? 503 : 200, body: JSON.stringify(body) };
  }

  private async runAll(): Promise<ReadyReport> {
    const entries = [...this.checks.entries()];
    const results = await Promise.all(entries.map(([, c]) => this.runOne(c)));
    const checks: Record<string, CheckResult> = {};
    let status: ReadyReport['status'] = 'healthy';
    entries.forEach(([name], i) => {
      const r = results[i];
      checks[name] = r;
      if (r.status !== 'ok') {
        if (r.critical) status = 'unhealthy';
        else if (status === 'healthy') status = 'degraded';
      }
    });
    return { status, checks };
  }

  private runOne(c: Registered): Promise<CheckResult> {
    const timeoutMs = c.timeoutMs ?? this.timeoutMs;
    const start = performance.now();
    const elapsed = (): number => Math.round(performance.now() - start);
    return new Promise<CheckResult>((resolve) => {
      let settled = false;
      const finish = (status: CheckResult['status'], err?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const result: CheckResult = { status, durationMs: elapsed(), critical: c.critical };
        if (status === 'failed') result.error = cutError(this.redact(describeError(err)));
        else if (status === 'timeout') result.error = `timed out after ${timeoutMs}ms`;
        resolve(result);
      };
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      // A health probe must never be what keeps the process alive.
      timer.unref();
      // A hung dependency must not collect one more stuck query per probe: while the previous
      // invocation is unsettled, this run waits on it instead of calling the check again.
      let running = c.pending;
      if (!running) {
        let value: unknown;
        try {
          value = c.fn();
        } catch (err) {
          finish('failed', err);
          return;
        }
        // Promise.resolve adopts foreign thenables; the handlers below also swallow a rejection
        // that arrives after the timeout, so a late failure never becomes an unhandled rejection.
        const p = Promise.resolve(value);
        running = p;
        c.pending = p;
        const clear = (): void => {
          if (c.pending === p) c.pending = undefined;
        };
        p.then(clear, clear);
      }
      running.then(
        () => finish('ok'),
        (err: unknown) => finish('failed', err),
      );
    });
  }

  private redact(message: string): string {
    let out = message;
    let injected = false;
    if (this.redactFn) {
      try {
        out = String(this.redactFn(out));
        injected = true;
      } catch {}
    }
    // Applied even after an injected redactor: cheap, and credentials in URLs must never leak.
    return fallbackRedact(out, injected);
  }
}
