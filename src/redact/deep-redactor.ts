// The deep walker of redaction: copy-on-write over objects, arrays, Maps, Sets, errors and URLs,
// with depth, entry and node limits; and the span attribute rule (URL keys, closed-vocabulary
// keys). createRedactor hands it the key test and the string redactors.
import { types as utilTypes } from 'node:util';
import { KEY_CACHE_LIMIT, KEY_CACHE_MAX_KEY_LENGTH } from './keys';
import { REDACTED } from './text-patterns';

// ---------------------------------------------------------------------------------------------
// Deep values.
// ---------------------------------------------------------------------------------------------

const MAX_DEPTH = 10;
const MAX_ENTRIES = 10_000; // per array/object/Map/Set; the rest is dropped with a marker
const MAX_NODES = 1_000_000; // per redactValue call, guards against huge shared-reference DAGs
const TRUNCATED = '[Truncated]';
const CIRCULAR = '[Circular]';

// Attribute keys holding a URL or a query string (OTel semantic conventions, old and new).
// url.path is deliberately not here: only userinfo and the query carry credentials.
const URL_ATTRIBUTE_KEYS = new Set([
  'url.full', 'url.original', 'url.query', 'http.url', 'http.target', 'http.request.header.referer',
]);

// Attribute keys whose values come from code or a closed vocabulary (a normalised method, a
// route template, an enum): nothing a request can put a secret into. Skipping their scan is most
// of the redaction cost of a server span. Their raw counterparts (http.request.method_original)
// are scanned.
const CLOSED_ATTRIBUTE_KEYS = new Set([
  'http.request.method', 'url.scheme', 'network.protocol.version', 'network.protocol.name', 'network.transport', 'network.type',
  'http.route', 'express.type', 'express.name', 'db.system', 'db.system.name', 'db.operation.name', 'rpc.system', 'messaging.system',
]);

const enum AttributeKind {
  Closed,
  Sensitive,
  Url,
  Text,
}

function maskValue(v: unknown): unknown {
  if (v === null || v === undefined || typeof v === 'boolean' || v === REDACTED) return v;
  return REDACTED;
}

const hasOwn = Object.prototype.hasOwnProperty;

// Objects left exactly as they are: nothing secret is reachable through own enumerable data,
// or copying them would break them (buffers are binary, promises/weak collections are opaque).
function isOpaque(o: object): boolean {
  return (
    o instanceof Date ||
    o instanceof RegExp ||
    ArrayBuffer.isView(o) ||
    o instanceof ArrayBuffer ||
    o instanceof Promise ||
    o instanceof WeakMap ||
    o instanceof WeakSet
  );
}

export class DeepRedactor {
  private readonly stack: object[] = [];
  private nodes = 0;

  constructor(
    private readonly isSensitiveKey: (k: string) => boolean,
    private readonly text: (s: string) => string,
    private readonly url: (s: string) => string,
  ) {}

  run(v: unknown): unknown {
    // Every push is popped in a finally, so the stack is already empty; truncating it anyway
    // would free its backing store and make the next call allocate.
    this.nodes = 0;
    try {
      return this.value(v, 0);
    } catch {
      // Only a throwing getter on the input gets here; fail closed rather than pass it through.
      return REDACTED;
    }
  }

  private entry(key: string, v: unknown, depth: number): unknown {
    return this.isSensitiveKey(key) ? maskValue(v) : this.value(v, depth);
  }

  private value(v: unknown, depth: number): unknown {
    if (typeof v === 'string') return this.text(v);
    if (typeof v !== 'object' || v === null) return v; // numbers, bigint, symbols, functions...
    const proto: unknown = Object.getPrototypeOf(v);
    const plain = proto === Object.prototype || proto === null;
    if (!plain && !Array.isArray(v) && isOpaque(v)) return v;
    if (depth > MAX_DEPTH || ++this.nodes > MAX_NODES) return TRUNCATED;
    // The output never points back into the input: a back reference would expose the
    // unredacted original through the copy, so cycles become a marker.
    if (this.stack.includes(v)) return CIRCULAR;
    this.stack.push(v);
    try {
      if (plain) return this.object(v as Record<string, unknown>, depth);
      if (Array.isArray(v)) return this.array(v, depth);
      if (v instanceof Map) return this.map(v, depth);
      if (v instanceof Set) return this.set(v, depth);
      if (utilTypes.isNativeError(v) || v instanceof Error) return this.error(v, depth);
      if (v instanceof URL) return this.urlObject(v);
      if (v instanceof URLSearchParams) {
        const s = v.toString();
        const r = this.url(s);
        return r === s ? v : r;
      }
      return this.object(v as Record<string, unknown>, depth);
    } finally {
      this.stack.pop();
    }
  }

  private array(a: readonly unknown[], depth: number): unknown {
    let out: unknown[] | undefined;
    const n = Math.min(a.length, MAX_ENTRIES);
    for (let i = 0; i < n; i++) {
      const before = a[i];
      const after = this.value(before, depth + 1);
      if (!Object.is(after, before)) {
        out ??= a.slice(0, n);
        out[i] = after;
      }
    }
    if (a.length > n) {
      out ??= a.slice(0, n);
      out.push(`${TRUNCATED} ${a.length - n} more items`);
    }
    return out ?? a;
  }

  private object(o: Record<string, unknown>, depth: number): unknown {
    let out: Record<string, unknown> | undefined;
    let count = 0;
    // for..in + hasOwn instead of Object.keys: no key array allocated on the clean path.
    for (const key in o) {
      if (!hasOwn.call(o, key)) continue;
      if (++count > MAX_ENTRIES) {
        out ??= this.shallowCopy(o);
        let kept = 0;
        for (const k in out) {
          if (++kept > MAX_ENTRIES) delete out[k];
        }
        out[TRUNCATED] = 'more keys omitted';
        break;
      }
      const before = o[key];
      const after = this.entry(key, before, depth + 1);
      if (!Object.is(after, before)) {
        out ??= this.shallowCopy(o);
        out[key] = after;
      }
    }
    return out ?? o;
  }

  // Keeps the prototype so class instances still answer instanceof and their methods.
  private shallowCopy(o: Record<string, unknown>): Record<string, unknown> {
    const copy = Object.create(Object.getPrototypeOf(o) as object | null) as Record<string, unknown>;
    for (const key in o) if (hasOwn.call(o, key)) copy[key] = o[key];
    return copy;
  }

  private map(m: Map<unknown, unknown>, depth: number): unknown {
    let changed = m.size > MAX_ENTRIES;
    const entries: [unknown, unknown][] = [];
    for (const [k, before] of m) {
      if (entries.length >= MAX_ENTRIES) break;
      const after = typeof k === 'string' ? this.entry(k, before, depth + 1) : this.value(before, depth + 1);
      if (!Object.is(after, before)) changed = true;
      entries.push([k, after]);
    }
    if (!changed) return m;
    const out = new Map(entries);
    if (m.size > MAX_ENTRIES) out.set(TRUNCATED, `${m.size - MAX_ENTRIES} more entries`);
    return out;
  }

  private set(s: Set<unknown>, depth: number): unknown {
    let changed = s.size > MAX_ENTRIES;
    const values: unknown[] = [];
    for (const before of s) {
      if (values.length >= MAX_ENTRIES) break;
      const after = this.value(before, depth + 1);
      if (!Object.is(after, before)) changed = true;
      values.push(after);
    }
    if (!changed) return s;
    const out = new Set(values);
    if (s.size > MAX_ENTRIES) out.add(`${TRUNCATED} ${s.size - MAX_ENTRIES} more items`);
    return out;
  }

  // Errors carry message, stack and cause as own non-enumerable properties, so they are walked
  // by descriptor; the copy keeps the prototype and the original enumerability.
  private error(e: Error, depth: number): unknown {
    let changes: Map<string, unknown> | undefined;
    for (const name of Object.getOwnPropertyNames(e)) {
      const d = Object.getOwnPropertyDescriptor(e, name);
      if (d === undefined) continue;
      let before: unknown;
      if ('value' in d) before = d.value;
      else if (name === 'stack') before = e.stack; // V8's own accessor; other getters are not called
      else continue;
      const after = this.entry(name, before, depth + 1);
      if (!Object.is(after, before)) (changes ??= new Map()).set(name, after);
    }
    if (changes === undefined) return e;
    const copy = Object.create(Object.getPrototypeOf(e) as object | null) as Error;
    for (const name of Object.getOwnPropertyNames(e)) {
      const d = Object.getOwnPropertyDescriptor(e, name);
      if (d === undefined) continue;
      if (changes.has(name)) {
        Object.defineProperty(copy, name, {
          value: changes.get(name),
          writable: true,
          enumerable: d.enumerable ?? false,
          configurable: true,
        });
      } else {
        Object.defineProperty(copy, name, d);
      }
    }
    return copy;
  }

  // URL objects have no own data: their secrets sit behind prototype getters and toJSON.
  private urlObject(u: URL): unknown {
    const href = u.href;
    const r = this.url(href);
    return r === href ? u : r;
  }
}

// Span attributes: one lookup per key decides the rule, then the value is masked, kept, or its
// strings (and string arrays) go through the text or URL scan.
// Log record attributes may hold maps and arrays of maps (AnyValue): those go through the deep
// walker, so a nested `authorization` key is masked like a top-level one.
export function makeAttributeRedactor(
  isSensitiveKey: (k: string) => boolean,
  redactString: (s: string) => string,
  redactUrl: (s: string) => string,
  redactDeep: (v: unknown) => unknown,
): (attrs: Record<string, unknown>) => Record<string, unknown> {
  // What an attribute key asks for, looked up once per key instead of in three sets: spans
  // carry the same few dozen keys over and over.
  const kinds = new Map<string, AttributeKind>();
  const kindOf = (key: string): AttributeKind => {
    let kind = kinds.get(key);
    if (kind !== undefined) return kind;
    kind = CLOSED_ATTRIBUTE_KEYS.has(key) ? AttributeKind.Closed : isSensitiveKey(key) ? AttributeKind.Sensitive : URL_ATTRIBUTE_KEYS.has(key) ? AttributeKind.Url : AttributeKind.Text;
    if (key.length <= KEY_CACHE_MAX_KEY_LENGTH) {
      if (kinds.size >= KEY_CACHE_LIMIT) kinds.clear();
      kinds.set(key, kind);
    }
    return kind;
  };

  const redactAttributeValue = (key: string, v: unknown): unknown => {
    const kind = kindOf(key);
    if (kind === AttributeKind.Closed) return v;
    if (kind === AttributeKind.Sensitive) return maskValue(v);
    const str = kind === AttributeKind.Url ? redactUrl : redactString;
    if (typeof v === 'string') return str(v);
    if (typeof v !== 'object' || v === null) return v;
    if (!Array.isArray(v)) return redactDeep(v);
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const before: unknown = v[i];
      if (typeof before !== 'string' && (typeof before !== 'object' || before === null)) continue;
      const after = typeof before === 'string' ? str(before) : redactDeep(before);
      if (!Object.is(after, before)) (out ??= v.slice())[i] = after;
    }
    return out ?? v;
  };

  return (attrs: Record<string, unknown>): Record<string, unknown> => {
    let out: Record<string, unknown> | undefined;
    for (const key in attrs) {
      if (!hasOwn.call(attrs, key)) continue;
      const before = attrs[key];
      const after = redactAttributeValue(key, before);
      if (!Object.is(after, before)) {
        out ??= { ...attrs };
        out[key] = after;
      }
    }
    return out ?? attrs;
  };
}
