// The cluster primary's side: one scrape target and one readiness answer for the whole host.
// /metrics adds every live worker's metrics, each series labelled with its worker id
// (metrics-merge.ts); /readyz adds every worker's readiness. Workers are asked over the IPC
// channel when a request comes, so nothing is watched between requests and a process that
// never forks pays nothing (node:cluster is loaded already: net's listen() loads it).
import { ValueType, type Attributes } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { DataPointType, AggregationTemporality, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Worker } from 'node:cluster';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { reportOnce } from '../diag';
import { sendJson, type Answer } from '../health/framework-adapters';
import { CMD, isAnswer, type AnswerMessage, type Question } from './messages';
import { decodeWorkerMetrics, mergeWorkerMetrics, WORKER_ATTRIBUTE, type WorkerMetrics } from './metrics-merge';
import { clusterModule } from './process-role';

// Node's typings do not list the 'internalMessage' event of a ChildProcess (see messages.ts).
interface InternalMessages {
  on(event: 'internalMessage', listener: (message: unknown) => void): unknown;
}

type Pending = (answer: AnswerMessage | undefined) => void;

const pending = new Map<number, Pending>();
const listening = new WeakSet<Worker>();
let nextSeq = 0;

function onAnswer(message: unknown): void {
  if (!isAnswer(message)) return;
  const settle = pending.get(message.seq);
  if (settle) settle(message);
}

/**
 * The workers of this primary that can answer; undefined when this process is not a primary
 * that has set up a cluster (no fork, no setupPrimary: the plain single-process case).
 */
export function clusterWorkers(): Worker[] | undefined {
  const cluster = clusterModule();
  if (!cluster?.isPrimary) return undefined;
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  if (workers.length === 0 && Object.keys(cluster.settings ?? {}).length === 0) return undefined;
  return workers.filter((w) => w.isConnected() && !w.isDead());
}

/** Asks one worker; undefined when it does not answer within timeoutMs, or exits first. */
function ask(worker: Worker, act: Question, timeoutMs: number): Promise<AnswerMessage | undefined> {
  return new Promise((resolve) => {
    const seq = ++nextSeq;
    const child = worker.process;
    const done: Pending = (answer) => {
      if (!pending.delete(seq)) return;
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      resolve(answer);
    };
    const onExit = (): void => done(undefined);
    pending.set(seq, done);
    // Never what keeps the primary alive.
    const timer = setTimeout(() => done(undefined), timeoutMs);
    timer.unref();
    child.once('exit', onExit);
    if (!listening.has(worker)) {
      listening.add(worker);
      (child as unknown as InternalMessages).on('internalMessage', onAnswer);
    }
    try {
      worker.send({ cmd: CMD, act, seq }, (err: Error | null) => {
        if (err) done(undefined);
      });
    } catch {
      done(undefined);
    }
  });
}

/** What the Prometheus reader serves: the merged metrics and each worker's resource for target_info. */
export interface Gathered {
  metrics: ResourceMetrics;
  targets: Attributes[];
}

function workersGauge(answered: number, silent: number): MetricData {
  const time = hrTime();
  const point = (state: string, value: number) => ({ startTime: time, endTime: time, attributes: { state }, value });
  return {
    descriptor: { name: 'otelkit.cluster.workers', description: 'Live cluster workers, by whether they answered this scrape', unit: '{worker}', valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: [point('answered', answered), point('silent', silent)],
  };
}

/**
 * The primary's own metrics plus every live worker's; the primary's alone when this process
 * runs no cluster. A worker that does not answer within timeoutMs is left out of this scrape
 * and counted as silent in otelkit_cluster_workers.
 */
export async function gatherClusterMetrics(own: ResourceMetrics, timeoutMs: number): Promise<Gathered> {
  const workers = clusterWorkers();
  if (workers === undefined) return { metrics: own, targets: [] };
  const answers = await Promise.all(workers.map((w) => ask(w, 'metrics', timeoutMs)));
  const received: { id: string; metrics: WorkerMetrics }[] = [];
  let silent = 0;
  answers.forEach((a, i) => {
    const decoded = a?.body === undefined ? undefined : decodeWorkerMetrics(a.body);
    if (decoded) received.push({ id: String(workers[i].id), metrics: decoded });
    else if (a === undefined && !workers[i].isDead()) silent++;
  });
  const { merged, conflicts } = mergeWorkerMetrics(own, received);
  for (const name of conflicts) reportOnce(`cluster-conflict:${name}`, `metric ${name} has another type in a cluster worker than in the primary: the worker's points are left out of /metrics`);
  const gauge = workersGauge(received.length, silent);
  const scope = merged.scopeMetrics.find((s) => s.scope.name === 'otelkit' && !s.scope.version);
  if (scope) scope.metrics = [...scope.metrics, gauge];
  else merged.scopeMetrics.push({ scope: { name: 'otelkit' }, metrics: [gauge] });
  return { metrics: merged, targets: received.map((r) => ({ ...r.metrics.resource, [WORKER_ATTRIBUTE]: r.id })) };
}

interface ReadyBody {
  status?: unknown;
  reason?: unknown;
  checks?: unknown;
}

function parseBody(body: string | undefined): ReadyBody {
  try {
    const parsed: unknown = JSON.parse(body ?? '');
    return parsed !== null && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * /readyz of a cluster primary: its own checks and every live worker's answer. Not ready (503)
 * when the primary is not, when no worker is alive, or when a worker is unhealthy or does not
 * answer within timeoutMs; a worker that is shutting down does not count against the host while
 * another worker is ready. The body lists each worker by id with its pid and status.
 */
export async function clusterReadyAnswer(own: () => Promise<Answer>, timeoutMs: number): Promise<Answer> {
  const workers = clusterWorkers();
  if (workers === undefined) return own();
  const [mine, answers] = await Promise.all([own(), Promise.all(workers.map((w) => ask(w, 'ready', timeoutMs)))]);
  const body = parseBody(mine.body);
  const reasons: string[] = [];
  let status = typeof body.status === 'string' ? body.status : mine.statusCode === 200 ? 'healthy' : 'unhealthy';
  if (status === 'unhealthy') reasons.push(typeof body.reason === 'string' ? body.reason : 'primary unhealthy');
  const report: Record<string, Record<string, unknown>> = {};
  let ready = 0;
  let leaving = 0;
  answers.forEach((a, i) => {
    const w = workers[i];
    // A worker that exited while being asked is gone: the ones left are what serves.
    if (a === undefined && w.isDead()) return;
    const entry: Record<string, unknown> = { pid: w.process.pid };
    report[String(w.id)] = entry;
    if (a === undefined) {
      entry.status = 'unanswered';
      entry.error = `no answer within ${timeoutMs}ms`;
      reasons.push(`worker ${w.id} did not answer`);
      status = 'unhealthy';
      return;
    }
    const wb = parseBody(a.body);
    entry.status = typeof wb.status === 'string' ? wb.status : a.status === 200 ? 'healthy' : 'unhealthy';
    if (typeof wb.reason === 'string') entry.reason = wb.reason;
    if (wb.checks !== undefined) entry.checks = wb.checks;
    if (entry.status === 'unhealthy') {
      if (wb.reason === 'shutting down') {
        leaving++;
        return;
      }
      reasons.push(`worker ${w.id} unhealthy`);
      status = 'unhealthy';
    } else {
      ready++;
      if (entry.status === 'degraded' && status === 'healthy') status = 'degraded';
    }
  });
  if (ready === 0 && status !== 'unhealthy') {
    status = 'unhealthy';
    reasons.push(leaving > 0 ? 'every cluster worker is shutting down' : 'no cluster worker alive');
  }
  const out: Record<string, unknown> = { status };
  if (status === 'unhealthy' && reasons.length > 0) out.reason = reasons.join('; ');
  out.checks = body.checks ?? {};
  out.workers = report;
  return { statusCode: status === 'unhealthy' ? 503 : 200, body: JSON.stringify(out) };
}

/** The /readyz handler of the admin server: the cluster's answer on a primary, else the process's own. */
export function clusterReadyz(own: () => Promise<Answer>, timeoutMs: number): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const headOnly = req?.method === 'HEAD';
    // async: a throw anywhere becomes a rejection, answered below.
    clusterReadyAnswer(own, timeoutMs).then(
      (a) => sendJson(res, a.statusCode, a.body, headOnly),
      (err: unknown) => {
        reportOnce('cluster-readyz', 'answering /readyz for the cluster failed', err);
        sendJson(res, 503, '{"status":"unhealthy"}', headOnly);
      },
    );
  };
}
