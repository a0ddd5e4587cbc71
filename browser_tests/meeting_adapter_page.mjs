// A bare page for the meeting adapters' tests (meeting_adapter*.test.mjs): static/js/meeting/
// driven directly, without the meeting page. The page is served by Playwright on the stack's own
// origin (so /meeting_token, /media and /vendor are same-origin, as on the real page); it loads
// joinMeeting, records every callback in `window.__events`, and attaches each remote track to
// its own media element (audio needs a sink to be decoded). The tests read what each remote
// track received from the receiver that carries it.
import assert from 'node:assert/strict';
import { HOST_PASSWORD } from './stack.mjs';
import { TRACK_PEER_CONNECTIONS, newPage } from './browser.mjs';
import { until } from './pages.mjs';

const PATH = '/__meeting_adapter.html';

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>joinMeeting</title></head>
<body><main id="media"></main>
<script type="module">
import { joinMeeting } from '/js/meeting/index.js';
window.__events = [];
window.__media = new Map(); // "<identity>/<kind>" -> { track, element }
const record = (event) => window.__events.push({ ...event, at: Date.now() });
window.__join = async (answer, want = { camera: true, mic: true }) => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: want.camera, audio: want.mic });
  window.__local = stream;
  try {
    window.__call = await joinMeeting({
      ...answer,
      tracks: { camera: stream.getVideoTracks()[0] ?? null, mic: stream.getAudioTracks()[0] ?? null },
      onParticipant: (p) => record({ event: 'participant', ...p }),
      onParticipantLeft: (identity) => record({ event: 'left', identity }),
      onTrack(identity, kind, track) {
        record({ event: 'track', identity, kind, trackKind: track.kind });
        const element = document.createElement(track.kind === 'audio' ? 'audio' : 'video');
        element.autoplay = true;
        element.muted = track.kind !== 'audio';
        element.playsInline = true;
        element.srcObject = new MediaStream([track]);
        document.getElementById('media').append(element);
        window.__media.set(identity + '/' + kind, { track, element });
      },
      onTrackGone(identity, kind) {
        record({ event: 'gone', identity, kind });
        window.__media.get(identity + '/' + kind)?.element.remove();
        window.__media.delete(identity + '/' + kind);
      },
      onMuted: (identity, kind, muted) => record({ event: 'muted', identity, kind, muted }),
      onDominantSpeaker: (identity) => record({ event: 'speaker', identity }),
      onState: (state, reason) => record({ event: 'state', state, reason }),
    });
    return { joined: true };
  } catch (error) {
    return { joined: false, message: error.message, code: error.code ?? null };
  }
};
// What the receiver of a remote track got so far: decoded video frames or audio samples.
window.__received = async (identity, kind) => {
  const shown = window.__media.get(identity + '/' + kind);
  if (!shown) return 0;
  for (const pc of window.__peerConnections ?? []) {
    if (pc.connectionState === 'closed') continue;
    const receiver = pc.getReceivers().find((r) => r.track === shown.track);
    if (!receiver) continue;
    let total = 0;
    (await receiver.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp') total += (shown.track.kind === 'video' ? s.framesDecoded : s.totalSamplesReceived) ?? 0;
    });
    return total;
  }
  return 0;
};
window.__ready = true;
</script></body></html>`;

// A page on the stack's origin with the adapters loaded; `prepare(page)` runs before it loads
// (to intercept requests).
export async function openAdapterPage(browser, stack, prepare = async () => {}) {
  const page = await newPage(browser);
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${message.text()} ${message.location().url ?? ''}`.trim());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.consoleErrors = errors;
  await page.addInitScript(TRACK_PEER_CONNECTIONS);
  await page.route(`${stack.base}${PATH}`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: HTML }),
  );
  await prepare(page);
  await page.goto(`${stack.base}${PATH}`);
  await page.waitForFunction(() => window.__ready === true);
  return page;
}

// The host opens a meeting; resolves to its `meeting_create` answer.
export async function createMeeting(stack) {
  const response = await fetch(`${stack.base}/meeting_create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password: HOST_PASSWORD }),
  });
  const created = await response.json();
  assert.equal(response.status, 200, JSON.stringify(created));
  return created;
}

// A guest's `meeting_token` answer for `invite` under `name`.
export async function meetingToken(stack, invite, name) {
  const response = await fetch(`${stack.base}/meeting_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ invite, name }),
  });
  const answer = await response.json();
  assert.equal(response.status, 200, JSON.stringify(answer));
  return answer;
}

// Joins with the page's fake camera and microphone; resolves to `{joined, message?, code?}`.
export const join = (page, answer, want) => page.evaluate(([a, w]) => window.__join(a, w), [answer, want]);

export const eventsOf = (page) => page.evaluate(() => window.__events);

// Waits for an event matching every field of `want`; resolves to it. A failure lists the events
// the page had.
export async function waitForEvent(page, want, timeout = 60000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const events = await eventsOf(page);
    const found = events.find((e) => Object.entries(want).every(([k, v]) => e[k] === v));
    if (found) return found;
    if (Date.now() > deadline) {
      assert.fail(`event ${JSON.stringify(want)} did not happen within ${timeout} ms; events: ${JSON.stringify(events)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Waits until the page's receiver of `identity`'s `kind` has decoded something.
export async function decodes(page, identity, kind, timeout = 60000) {
  return until(
    `${kind} of ${identity} decoding`,
    () => page.evaluate(([i, k]) => window.__received(i, k), [identity, kind]),
    timeout,
  );
}
