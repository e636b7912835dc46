// Whether this process is a node:cluster worker (PM2's cluster mode included). A worker never
// binds the admin port: its listen() would go through the primary, which holds that port itself
// when it runs otelkit. The primary serves the workers' metrics and readiness instead
// (cluster/primary-aggregator.ts), asked over the IPC channel (cluster/worker-channel.ts).
import type * as Cluster from 'node:cluster';
import { loadBuiltin } from '../loading/builtin-modules';

let loaded: typeof Cluster.default | undefined;

/**
 * node:cluster, loaded on first need: it is not in Node's start-up snapshot (2-3 ms to load), so
 * a process that never asks does not pay for it at start (net's listen() loads it anyway).
 */
export function clusterModule(): typeof Cluster.default | undefined {
  if (loaded === undefined) {
    try {
      loaded = loadBuiltin<typeof Cluster.default>('node:cluster');
    } catch {
      return undefined;
    }
  }
  return loaded;
}

export function isClusterWorker(): boolean {
  // Every worker is forked with an IPC channel: a process without one is spared loading
  // node:cluster. (NODE_UNIQUE_ID, which marks a worker, is deleted before preloads run.)
  if (process.channel === undefined) return false;
  return clusterModule()?.isWorker === true;
}

/** This worker's cluster id, as the primary's cluster.workers knows it. */
export function clusterWorkerId(): string | undefined {
  const id = clusterModule()?.worker?.id;
  return id === undefined ? undefined : String(id);
}
