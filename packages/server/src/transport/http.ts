/**
 * Plain HTTP on the socket.io port: `GET /healthz` (liveness: the process serves HTTP),
 * `GET /readyz` (readiness: the store and Redis answer, not draining; `health.ts`), `GET /metrics`
 * (Prometheus text), and — only when the server runs with `dev: true` — `POST /dev/token
 * {accountId}` for the demo's sign-in.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConvSyncError, ErrorCode, isValidId } from '@convsync/protocol';
import type { Readiness } from '../health.js';
import type { Metrics } from '../metrics.js';

export interface HttpDeps {
  metrics: Metrics;
  readiness: Readiness;
  /** Present only in dev mode. */
  issueDevToken?: (accountId: string) => Promise<string>;
  /** CORS origins allowed for the dev endpoint (absent: all). */
  allowedOrigins?: readonly string[];
}

const MAX_BODY_BYTES = 4096;

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new ConvSyncError(ErrorCode.INVALID_PARAMETER, 'request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createHttpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      send(res, 200, { status: 'ok' });
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      deps.readiness.check().then(
        (report) => send(res, report.status === 'ready' ? 200 : 503, report),
        (error: unknown) => send(res, 503, { status: 'unready', down: [], errors: { readiness: String(error) } }),
      );
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      deps.metrics.render().then(
        (text) => send(res, 200, text, deps.metrics.contentType),
        () => send(res, 500, { code: ErrorCode.INTERNAL, desc: 'metrics could not be rendered' }),
      );
      return;
    }
    if (path === '/dev/token' && deps.issueDevToken !== undefined) {
      const origin = req.headers.origin;
      if (origin !== undefined && (deps.allowedOrigins === undefined || deps.allowedOrigins.includes(origin))) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('access-control-allow-headers', 'content-type');
        res.setHeader('vary', 'origin');
      }
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'access-control-allow-methods': 'POST' });
        res.end();
        return;
      }
      if (req.method === 'POST') {
        const issue = deps.issueDevToken;
        readBody(req)
          .then(async (body) => {
            const parsed: unknown = JSON.parse(body);
            const accountId = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).accountId : undefined;
            if (!isValidId(accountId)) {
              send(res, 400, { code: ErrorCode.INVALID_PARAMETER, desc: 'accountId must be a valid id' });
              return;
            }
            send(res, 200, { accountId, token: await issue(accountId) });
          })
          .catch(() => send(res, 400, { code: ErrorCode.INVALID_PARAMETER, desc: 'expected a JSON body {accountId}' }));
        return;
      }
    }
    send(res, 404, { code: ErrorCode.NOT_FOUND, desc: 'not found' });
  };
}
