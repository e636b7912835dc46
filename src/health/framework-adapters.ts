// The health handlers mounted on the application's own server: one function that is a plain
// node http request listener and express/connect middleware, and a fastify plugin, both answering
// with the registry's answers. Structural types: otelkit depends on neither express nor fastify.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type Next = (err?: unknown) => void;

// Structural fastify types: otelkit does not depend on fastify.
export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}
type FastifyRouteHandler = (request: unknown, reply: FastifyReplyLike) => Promise<unknown>;
interface FastifyLike {
  get(path: string, handler: FastifyRouteHandler): unknown;
}
export type FastifyPlugin = (fastify: FastifyLike, opts: unknown, done: (err?: Error) => void) => void;

/** A health answer: the status code and the JSON body, whichever server sends it. */
export interface Answer {
  statusCode: number;
  body: string;
}

export function sendJson(res: ServerResponse, statusCode: number, body: string, headOnly: boolean): void {
  try {
    if (res.headersSent || res.writableEnded) return;
    res.statusCode = statusCode;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(headOnly ? undefined : body);
  } catch {}
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.search(/[?#]/);
  return q === -1 ? raw : raw.slice(0, q);
}

/** What the adapters answer with: the registry's own node handlers. */
export interface HealthHandlers {
  livez: NodeHandler;
  readyz: NodeHandler;
}

/**
 * One function that works as a plain `http` request listener (404 for other paths) and as
 * express/connect middleware (other paths go to next()).
 */
export function nodeHandler(handlers: HealthHandlers): (req: IncomingMessage, res: ServerResponse, next?: Next) => void {
  return (req, res, next) => {
    const method = req?.method ?? 'GET';
    const path = pathOf(req?.url);
    if (method === 'GET' || method === 'HEAD') {
      if (path === '/livez') return handlers.livez(req, res);
      if (path === '/readyz') return handlers.readyz(req, res);
    }
    if (typeof next === 'function') return next();
    sendJson(res, 404, '{"status":"not found"}', method === 'HEAD');
  };
}

/**
 * Fastify plugin registering GET /livez and /readyz (HEAD comes with GET in fastify).
 * `couldNotRegister` hears why the routes could not be registered; the application still boots.
 */
export function fastifyPlugin(readyAnswer: () => Promise<Answer>, couldNotRegister: (err: unknown) => void): FastifyPlugin {
  const plugin: FastifyPlugin = (fastify, _opts, done) => {
    try {
      fastify.get('/livez', async (_request, reply) => replyWith(reply, { statusCode: 200, body: '{"status":"ok"}' }));
      fastify.get('/readyz', async (_request, reply) => replyWith(reply, await readyAnswer()));
    } catch (err) {
      // Typically the routes are already registered; the application must still boot.
      couldNotRegister(err);
    }
    done();
  };
  // Without this fastify would encapsulate the routes in a child context; they belong to the root.
  Object.defineProperty(plugin, Symbol.for('skip-override'), { value: true });
  Object.defineProperty(plugin, Symbol.for('fastify.display-name'), { value: 'otelkit-health' });
  return plugin;
}

function replyWith(reply: FastifyReplyLike, answer: Answer): FastifyReplyLike {
  return reply
    .code(answer.statusCode)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(answer.body);
}
