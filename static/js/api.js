// The OnAir API, on the pages' own origin: one function per endpoint. Each resolves to the
// parsed JSON answer or throws an ApiError carrying the status, the error code and, for a 429,
// the seconds to wait (`Retry-After`); a call that gets no answer within REQUEST_LIMIT_MS
// throws too, so a page never waits forever.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// Far above what a function takes (its Twilio calls are bounded at a few seconds each).
const REQUEST_LIMIT_MS = 30000;

async function call(path, { method = 'POST', token, body, cache = 'no-store' } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache,
      signal: AbortSignal.timeout(REQUEST_LIMIT_MS),
    });
  } catch (error) {
    throw error.name === 'TimeoutError'
      ? new ApiError(0, 'timeout', 'The service did not answer in time. Try again in a moment.')
      : new ApiError(0, 'network', 'The service cannot be reached. Check your connection.');
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    const error = answer?.error ?? {};
    const retryAfter = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
    throw new ApiError(
      response.status,
      error.code ?? 'unknown',
      error.message ?? response.statusText,
      Number.isFinite(retryAfter) ? retryAfter : null,
    );
  }
  return answer;
}

// The host signs in once: the session (our own token, 12 h) replaces the password afterwards.
export const hostSession = (password) => call('/host_session', { body: { password } });
// Opens the studio of a stream: its room, in the `ready` state, and the host's token for it.
export const hostToken = (session, stream) => call('/host_token', { token: session, body: { stream } });
export const streamStart = (token) => call('/stream_start', { token });
export const streamStop = (token) => call('/stream_stop', { token });
export const audienceToken = (stream) => call('/audience_token', { body: { stream } });
export const subscribe = (token) => call('/subscribe', { token });

// `{stream, state: 'offline' | 'ready' | 'live', room?, viewers?, started_at?}`. A plain GET the
// CDN answers from its one-second cache, so a crowd polling it costs one function call per
// second per edge; the browser's own cache may serve it within that second too.
export const streamStatus = (stream) =>
  call(`/status/${encodeURIComponent(stream)}`, { method: 'GET', cache: 'default' });

// Meetings: the host creates one (the host session, else the password); anyone with its invite
// joins with a display name.
export const meetingCreate = ({ token, password }) =>
  call('/meeting_create', token ? { token } : { body: { password } });
export const meetingToken = (invite, name) => call('/meeting_token', { body: { invite, name } });

// Stops the stream while the tab closes: a beacon survives the page, a fetch may not.
// A string body is sent as text/plain, which stream_stop accepts.
export function stopOnPageClose(token) {
  return navigator.sendBeacon('/stream_stop', token);
}
