// The messages otelkit's primary and workers exchange over the cluster's IPC channel. Their
// `cmd` starts with NODE_: Node then emits them as 'internalMessage', never as 'message', so the
// application's own message listeners (process.on('message'), worker.on('message'),
// cluster.on('message')) never see them (Node's child_process isInternal(); node:cluster's own
// listener handles only cmd NODE_CLUSTER).
export const CMD = 'NODE_OTELKIT' as const;

export type Question = 'metrics' | 'ready';

export interface AskMessage {
  cmd: typeof CMD;
  act: Question;
  seq: number;
}

export interface AnswerMessage {
  cmd: typeof CMD;
  act: 'answer';
  seq: number;
  /** ready: the /readyz status code. */
  status?: number;
  /** ready: the /readyz body; metrics: encodeWorkerMetrics() output, absent without a Prometheus reader. */
  body?: string;
}

function isOurs(m: unknown): m is { cmd: string; act: unknown; seq: unknown } {
  return m !== null && typeof m === 'object' && (m as { cmd?: unknown }).cmd === CMD;
}

export function isAsk(m: unknown): m is AskMessage {
  return isOurs(m) && (m.act === 'metrics' || m.act === 'ready') && typeof m.seq === 'number';
}

export function isAnswer(m: unknown): m is AnswerMessage {
  return isOurs(m) && m.act === 'answer' && typeof m.seq === 'number';
}
