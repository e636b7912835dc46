// Client of the payment service: POST {PAYMENT_URL}/charges. The call goes through the global
// fetch, which otelkit instruments: a client span, and the trace context in the request headers.

export class PaymentError extends Error {
  constructor(message, { status, code, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'PaymentError';
    if (status !== undefined) this.status = status;
    if (code !== undefined) this.code = code;
  }
}

export function createPaymentClient({ baseUrl, timeoutMs = 5000 }) {
  const url = new URL('/charges', baseUrl);
  return {
    /** Resolves with the payment ({ paymentId, status }); rejects with a PaymentError. */
    async charge({ orderId, amountCents }) {
      let res;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ orderId, amountCents }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw new PaymentError('payment service unreachable', { code: 'payment_unreachable', cause: err });
      }
      let body = {};
      try {
        body = await res.json();
      } catch {}
      if (!res.ok) {
        throw new PaymentError(`charge rejected with ${res.status}: ${body.error ?? res.statusText}`, {
          status: res.status,
          code: body.code ?? 'payment_rejected',
        });
      }
      return body;
    },
  };
}
