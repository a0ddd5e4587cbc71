// The OnAir API, on the pages' own origin: one function per endpoint. Each resolves to the
// parsed JSON answer or throws an ApiError carrying the status and the error code; a call that
// gets no answer within REQUEST_LIMIT_MS throws too, so a page never waits forever.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Far above what a function takes (its Twilio calls are bounded at a few seconds each).
const REQUEST_LIMIT_MS = 30000;

async function post(path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
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
    throw new ApiError(response.status, error.code ?? 'unknown', error.message ?? response.statusText);
  }
  return answer;
}

export const hostToken = (password) => post('/host_token', { body: { password } });
export const streamStart = (token) => post('/stream_start', { token });
export const streamStop = (token) => post('/stream_stop', { token });
export const audienceToken = () => post('/audience_token');
export const subscribe = (token) => post('/subscribe', { token });
// Meetings: the host creates one (host session or room token, else the password); anyone with
// its invite joins with a display name.
export const meetingCreate = ({ token, password }) =>
  post('/meeting_create', token ? { token } : { body: { password } });
export const meetingToken = (invite, name) => post('/meeting_token', { body: { invite, name } });

// Stops the stream while the tab closes: a beacon survives the page, a fetch may not.
// A string body is sent as text/plain, which stream_stop accepts.
export function stopOnPageClose(token) {
  return navigator.sendBeacon('/stream_stop', token);
}
