// A small SMTP receiver on the loopback interface, for tests that follow an alert to the mail a
// person would get. It speaks the part of SMTP (RFC 5321) that a plain, unauthenticated client
// uses: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. No STARTTLS and no AUTH are offered, so a
// client configured to require them fails, as it would against such a server.
//
//   const smtp = await startSmtpReceiver();
//   smtp.port; smtp.messages                     // [{ from, to, raw, headers, subject, text }]
//   const mail = await smtp.waitFor((m) => m.subject.includes('x'), { timeoutMs });
//   await smtp.close();
//
// `text` is every text part of the message decoded (quoted-printable or base64) and joined; for
// HTML parts the tags are removed and entities decoded, so a test reads what a person would.
import * as net from 'node:net';

export async function startSmtpReceiver() {
  const messages = [];
  const waiters = new Set();
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setEncoding('latin1');
    let buffer = '';
    let inData = false;
    let data = [];
    let envelope = { from: '', to: [] };
    const reply = (line) => socket.write(`${line}\r\n`);
    reply('220 localhost otelkit-test SMTP ready');
    socket.on('data', (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            const raw = data.join('\r\n');
            const message = { ...envelope, raw, ...parseMessage(raw) };
            messages.push(message);
            for (const w of waiters) w();
            envelope = { from: '', to: [] };
            data = [];
            reply('250 2.0.0 queued');
          } else {
            // Dot-stuffing: a leading dot was doubled by the client.
            data.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-localhost\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n');
        else if (verb === 'HELO') reply('250 localhost');
        else if (verb === 'MAIL') {
          envelope.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          envelope.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end data with <CR><LF>.<CR><LF>');
        } else if (verb === 'RSET') {
          envelope = { from: '', to: [] };
          reply('250 2.0.0 ok');
        } else if (verb === 'NOOP') reply('250 2.0.0 ok');
        else if (verb === 'QUIT') {
          reply('221 2.0.0 bye');
          socket.end();
        } else reply('502 5.5.2 command not implemented');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    messages,
    /** Resolves with the first message (already received or to come) that matches. */
    waitFor(predicate, { timeoutMs = 60_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(predicate);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching mail within ${timeoutMs} ms; received ${messages.length}: ${messages.map((m) => JSON.stringify(m.subject)).join(', ')}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Headers (lower-case names, unfolded), the decoded subject and the text of every text part. */
export function parseMessage(raw) {
  const { headers, body } = splitHeaders(raw);
  return { headers, subject: decodeWords(headers.subject ?? ''), text: textOf(headers, body) };
}

function splitHeaders(raw) {
  const end = raw.indexOf('\r\n\r\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  const body = end === -1 ? '' : raw.slice(end + 4);
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function textOf(headers, body) {
  const type = headers['content-type'] ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((part) => !part.startsWith('--'))
      .map((part) => {
        const p = splitHeaders(part.replace(/^\r\n/, ''));
        return textOf(p.headers, p.body);
      })
      .filter(Boolean)
      .join('\n');
  }
  if (!/^text\//i.test(type)) return '';
  const encoding = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  let text = encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (/^text\/html/i.test(type)) text = htmlToText(text);
  return text;
}

function decodeQuotedPrintable(s) {
  const bytes = Buffer.from(s.replace(/=\r\n/g, ''), 'latin1');
  const out = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x3d /* = */ && i + 2 < bytes.length) {
      const hex = String.fromCharCode(bytes[i + 1], bytes[i + 2]);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
    }
    out.push(bytes[i]);
  }
  return Buffer.from(out).toString('utf8');
}

/** RFC 2047 encoded words in a header: =?utf-8?q?...?= and =?utf-8?b?...?=. */
function decodeWords(s) {
  return s.replace(/=\?([^?]+)\?([qQbB])\?([^?]*)\?=/g, (_, _charset, kind, text) =>
    kind.toLowerCase() === 'b' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replace(/_/g, ' ')),
  );
}

function htmlToText(html) {
  return html
    .replace(/<(style|script)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCharCode(parseInt(n, 16)))
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+/g, ' ')
    .replace(/\s*\n\s*/g, '\n');
}
