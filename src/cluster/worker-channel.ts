// A cluster worker's side: it answers the primary's questions (its metrics for /metrics, its
// readiness for /readyz) over the IPC channel, since it serves no admin port of its own.
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { guard, reportOnce } from '../diag';
import type { Answer } from '../health/framework-adapters';
import { encodeWorkerMetrics } from './metrics-merge';
import { CMD, isAsk, type AnswerMessage, type AskMessage } from './messages';

export interface WorkerAnswers {
  /** This worker's metrics as its Prometheus reader collects them; absent without one. */
  metrics?: () => Promise<ResourceMetrics>;
  /** This worker's /readyz answer. */
  ready: () => Promise<Answer>;
}

// Node's typings list only the documented events of process; 'internalMessage' is where Node
// delivers NODE_-prefixed IPC messages (see messages.ts).
interface InternalMessages {
  on(event: 'internalMessage', listener: (message: unknown) => void): unknown;
}

function reply(answer: AnswerMessage): void {
  try {
    // The callback takes a send error (channel closed while the worker exits) instead of a throw
    // or an 'error' event.
    process.send?.(answer, undefined, {}, () => {});
  } catch {
    // the channel is gone: the primary stops waiting at its timeout
  }
}

async function answer(ask: AskMessage, answers: WorkerAnswers): Promise<AnswerMessage> {
  const base = { cmd: CMD, act: 'answer' as const, seq: ask.seq };
  try {
    if (ask.act === 'ready') {
      const a = await answers.ready();
      return { ...base, status: a.statusCode, body: a.body };
    }
    if (!answers.metrics) return base;
    return { ...base, body: encodeWorkerMetrics(await answers.metrics()) };
  } catch (err) {
    reportOnce(`cluster-answer-${ask.act}`, `answering the cluster primary's ${ask.act} request failed`, err);
    return base;
  }
}

export function answerPrimary(answers: WorkerAnswers): void {
  guard('cluster-worker', 'listening for the cluster primary', () => {
    (process as unknown as InternalMessages).on('internalMessage', (message) => {
      if (isAsk(message)) void answer(message, answers).then(reply);
    });
  });
}
