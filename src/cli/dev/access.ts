// Who may use the dev viewer. It holds telemetry (request data, log lines) and listens on
// loopback, but a web page the developer visits can still reach loopback through the browser:
//
// - DNS rebinding: a page of attacker.example has its name re-resolved to 127.0.0.1 and reads
//   the API as its own origin. The browser then sends `Host: attacker.example`. So a request
//   must name an allowed Host: `localhost`, an IP address (no name is resolved behind an IP
//   literal, so nothing can be rebound), or the name given to --host. Anything else is a 403.
// - Cross-origin requests: a page elsewhere posts OTLP (or asks the API) with an `Origin`
//   header. A browser adds one to every POST, so any request that carries one must come from a
//   page on the same host as the viewer (any port: a front end on localhost:3000 exporting to
//   localhost:4318 is fine), or from loopback to loopback. Only those get CORS headers. `null`
//   (sandboxed pages, file:) is refused.
// - An OTLP POST without Origin is not from a browser page: an exporter in another container
//   may address the viewer by a name of its own (`http://otelkit-dev:4318`), so its Host is not
//   checked.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** The hostname (lower case, IPv6 in brackets) of `http://<authority>`, or undefined when it is not a bare host[:port]. */
function hostnameOf(authority: string): string | undefined {
  try {
    const u = new URL(`http://${authority}`);
    if (u.username || u.password || u.pathname !== '/' || u.search || u.hash || `${u.host}` === '') return undefined;
    return u.hostname;
  } catch {
    return undefined;
  }
}

function isIpLiteral(hostname: string): boolean {
  return isIP(hostname) === 4 || (hostname.startsWith('[') && hostname.endsWith(']') && isIP(hostname.slice(1, -1)) === 6);
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || (isIP(hostname) === 4 && hostname.startsWith('127.'));
}

export class Access {
  /** The --host value when it is a name (an address is allowed as any address is). */
  private readonly boundName: string | undefined;

  constructor(boundHost: string) {
    const h = hostnameOf(isIP(boundHost) === 6 ? `[${boundHost}]` : boundHost);
    this.boundName = h !== undefined && !isIpLiteral(h) && h !== 'localhost' ? h : undefined;
  }

  /** Whether a Host header's hostname is one this viewer answers to. */
  hostAllowed(hostname: string): boolean {
    return isLoopback(hostname) || isIpLiteral(hostname) || hostname === this.boundName;
  }

  /** Whether a page of `origin` may call a viewer addressed as `host` (a hostname, or undefined without a Host header). */
  originAllowed(origin: string, host: string | undefined): boolean {
    if (origin === 'null') return false;
    let o: URL;
    try {
      o = new URL(origin);
    } catch {
      return false;
    }
    if (o.protocol !== 'http:' && o.protocol !== 'https:') return false;
    if (host !== undefined && o.hostname === host) return true;
    if (isLoopback(o.hostname)) return host === undefined || isLoopback(host);
    return host === undefined && o.hostname === this.boundName;
  }

  /** Undefined when the request may go on, else the reason for a 403. */
  check(req: IncomingMessage, otlp: boolean): string | undefined {
    const origin = req.headers.origin;
    if (otlp && origin === undefined) return undefined;
    const hostHeader = req.headers.host;
    let host: string | undefined;
    if (hostHeader !== undefined) {
      host = hostnameOf(hostHeader);
      if (host === undefined || !this.hostAllowed(host)) {
        return `Host ${JSON.stringify(hostHeader.slice(0, 100))} is not allowed: use localhost, an IP address${this.boundName ? ` or ${this.boundName}` : ''} (a guard against DNS rebinding)`;
      }
    }
    if (origin !== undefined && !this.originAllowed(origin, host)) {
      return `requests from pages of ${JSON.stringify(origin.slice(0, 100))} are not allowed: only pages on the viewer's own host may call it`;
    }
    return undefined;
  }
}
