// The ivs media path of the pages (static/js/media/ivs.js) in real Chromium, with no network
// beyond loopback: the pages come from the dev server in ivs mode (its real security headers),
// the API answers are played by the test (page.route: the ivs back end is not needed to test the
// pages), the IVS Web Broadcast SDK is replaced by a double at its boundary (Amazon IVS cannot be
// reached from tests, as twilio_path.test.mjs does for Twilio), and the stage's WHIP endpoint
// (an https://*.live-video.net address, which the ivs CSP must allow) is answered by a real
// RTCPeerConnection in another page. The double has the API surface the adapter uses: Stage
// (join, leave, on, removeAllListeners), StageEvents, SubscribeType, StageConnectionState,
// StageLeftReason, StreamType, StageErrorCategory; its publisher's streams carry real
// MediaStreamTracks (a canvas and an oscillator), so the tests see frames reach the page.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './stack.mjs';
import { FAKE_TRACK, TRACK_PEER_CONNECTIONS, closePages, launch, newPage } from './browser.mjs';
import { LOADED, codecOrder, openStudio, signIn, until, waitForState, waitForStatus } from './pages.mjs';
import { TRACK_LOCAL_TRACKS, checkAccessibility, startPagesServer } from './meet_pages.mjs';

const STAGE_ID = 'AbCdEf123456';
const ROOM = `ivs-${STAGE_ID}`;
const WHIP = `https://0123456789ab.global-bm.whip.live-video.net`;

let server;
let base;
let browser;

// The dev server alone, in ivs mode: static/ with the ivs security headers. Its API and media
// upstreams are closed ports: every API call in these tests is answered by page.route.
before(async () => {
  assert.ok(existsSync(join(root, 'static', 'vendor', 'amazon-ivs-web-broadcast.js')), 'the SDK is vendored (npm run vendor)');
  server = await startPagesServer({ audienceMode: 'ivs' });
  base = server.base;
  browser = await launch();
});

afterEach(closePages);

after(async () => {
  await browser?.close();
  await server?.stop();
});

// --- the double of the IVS Web Broadcast SDK -------------------------------------------------

// Served in place of /vendor/amazon-ivs-web-broadcast.js. `window.__ivs` lets the test play the
// stage's side and records what the adapter did. `fakeTrack` is browser.mjs's FAKE_TRACK.
const DOUBLE = (fakeTrack) => {
  const StageEvents = {
    STAGE_CONNECTION_STATE_CHANGED: 'stageConnectionStateChanged',
    STAGE_PARTICIPANT_JOINED: 'stageParticipantJoined',
    STAGE_PARTICIPANT_LEFT: 'stageParticipantLeft',
    STAGE_PARTICIPANT_STREAMS_ADDED: 'stageParticipantStreamsAdded',
    STAGE_PARTICIPANT_STREAMS_REMOVED: 'stageParticipantStreamsRemoved',
    ERROR: 'error',
    STAGE_LEFT: 'stageLeft',
  };
  const SubscribeType = { NONE: 'none', AUDIO_ONLY: 'audio_only', AUDIO_VIDEO: 'audio_video' };
  const StageConnectionState = { DISCONNECTED: 'disconnected', CONNECTING: 'connecting', CONNECTED: 'connected', ERRORED: 'errored' };
  const StageLeftReason = {
    UNKNOWN: 'unknown',
    USER_INITIATED: 'user-initiated',
    PARTICIPANT_DISCONNECTED: 'participant-disconnected',
    STAGE_DELETED: 'stage-deleted',
  };
  const StreamType = { AUDIO: 'audio', VIDEO: 'video' };
  const StageErrorCategory = { JOIN_ERROR: 'JOIN_ERROR', PUBLISH_ERROR: 'PUBLISH_ERROR', SUBSCRIBE_ERROR: 'SUBSCRIBE_ERROR' };
  const ivs = (window.__ivs = { stages: [], refuse: window.__ivs?.refuse ?? null });

  class Stage {
    constructor(token, strategy) {
      this.token = token;
      this.strategy = strategy;
      this.handlers = {};
      this.left = false;
      this.joined = false;
      this.publisher = null;
      ivs.stages.push(this);
    }

    on(event, handler) {
      (this.handlers[event] ??= []).push(handler);
      return this;
    }

    removeAllListeners() {
      this.handlers = {};
    }

    emit(event, ...args) {
      for (const handler of this.handlers[event] ?? []) handler(...args);
    }

    async join() {
      this.emit(StageEvents.STAGE_CONNECTION_STATE_CHANGED, StageConnectionState.CONNECTING);
      await new Promise((r) => setTimeout(r, 20));
      if (ivs.refuse) {
        const error = { name: 'StageError', code: 2, category: StageErrorCategory.JOIN_ERROR, message: ivs.refuse };
        this.emit(StageEvents.ERROR, error);
        this.emit(StageEvents.STAGE_CONNECTION_STATE_CHANGED, StageConnectionState.ERRORED);
        throw error;
      }
      this.joined = true;
      this.emit(StageEvents.STAGE_CONNECTION_STATE_CHANGED, StageConnectionState.CONNECTED);
    }

    leave = () => {
      this.left = true;
      this.emit(StageEvents.STAGE_CONNECTION_STATE_CHANGED, StageConnectionState.DISCONNECTED);
      this.emit(StageEvents.STAGE_LEFT, StageLeftReason.USER_INITIATED);
    };
  }

  const current = () => ivs.stages[ivs.stages.length - 1];
  // The host joins the stage and publishes a screen and a microphone, if the strategy subscribes.
  ivs.publisherJoins = () => {
    const stage = current();
    const participant = { id: 'p-host', userId: 'host', isLocal: false, isPublishing: true, attributes: {} };
    stage.publisher = participant;
    stage.emit(StageEvents.STAGE_PARTICIPANT_JOINED, participant);
    const wanted = stage.strategy.shouldSubscribeToParticipant(participant);
    if (wanted === SubscribeType.NONE) return wanted;
    const streams = [
      { id: 'v', streamType: StreamType.VIDEO, mediaStreamTrack: fakeTrack('video'), isMuted: false },
      { id: 'a', streamType: StreamType.AUDIO, mediaStreamTrack: fakeTrack('audio'), isMuted: false },
    ];
    stage.emit(StageEvents.STAGE_PARTICIPANT_STREAMS_ADDED, participant, streams);
    return wanted;
  };
  ivs.publisherLeaves = () => current().emit(StageEvents.STAGE_PARTICIPANT_LEFT, current().publisher);
  ivs.aViewerLeaves = () =>
    current().emit(StageEvents.STAGE_PARTICIPANT_LEFT, { id: 'p-other', userId: 'viewer-x', isLocal: false, isPublishing: false });
  ivs.reconnects = () => {
    current().emit(StageEvents.STAGE_CONNECTION_STATE_CHANGED, StageConnectionState.CONNECTING);
    setTimeout(() => current().emit(StageEvents.STAGE_CONNECTION_STATE_CHANGED, StageConnectionState.CONNECTED), 50);
  };
  ivs.stageDeleted = () => {
    current().emit(StageEvents.STAGE_CONNECTION_STATE_CHANGED, StageConnectionState.DISCONNECTED);
    current().emit(StageEvents.STAGE_LEFT, StageLeftReason.STAGE_DELETED);
  };
  ivs.errors = () => {
    current().emit(StageEvents.ERROR, { name: 'StageError', code: 3, category: StageErrorCategory.JOIN_ERROR, message: 'timed out' });
    current().emit(StageEvents.STAGE_CONNECTION_STATE_CHANGED, StageConnectionState.ERRORED);
  };
  // A subscribe the SDK could not recover: a StageError with no change of connection state.
  ivs.subscribeFails = () =>
    current().emit(StageEvents.ERROR, { name: 'StageError', code: 1, category: StageErrorCategory.SUBSCRIBE_ERROR, message: 'subscribe failed' });
  ivs.summary = () =>
    ivs.stages.map((s) => ({
      token: s.token,
      left: s.left,
      joined: s.joined,
      publishes: s.strategy.stageStreamsToPublish().length,
      shouldPublish: s.strategy.shouldPublishParticipant({ id: 'me', isLocal: true }),
    }));

  window.IVSBroadcastClient = { Stage, StageEvents, SubscribeType, StageConnectionState, StageLeftReason, StreamType, StageErrorCategory };
};

// Routes the vendored SDK to the double, counting how often the page fetched it.
async function withDouble(page) {
  page.sdkFetches = 0;
  await page.route('**/vendor/amazon-ivs-web-broadcast.js', (route) => {
    page.sdkFetches++;
    return route.fulfill({ status: 200, contentType: 'text/javascript', body: `(${DOUBLE})(${FAKE_TRACK});` });
  });
}

// --- the viewer adapter, driven directly ----------------------------------------------------

// A harness script served from the pages' origin (the CSP forbids inline scripts): watch() with
// every callback recorded in `window.__events`, each track on its own element.
const HARNESS = `
import { adapterFor } from '/js/media/index.js';
window.__events = [];
const record = (event) => window.__events.push(event);
window.__watch = async (answer) => {
  try {
    window.__session = await adapterFor(answer.media).watch({
      ...answer,
      onTrack(kind, track) {
        record({ event: 'track', kind, trackKind: track.kind });
        const element = document.getElementById(kind === 'audio' ? 'audio' : 'screen');
        element.srcObject = new MediaStream([track]);
        element.play().catch(() => {});
      },
      onElement: () => record({ event: 'element' }),
      onState: (state) => record({ event: 'state', state }),
      onViewers: (n) => record({ event: 'viewers', n }),
      onEnded: (how) => record({ event: 'ended', how }),
      subscribe: null,
    });
    return { joined: true };
  } catch (error) {
    return { joined: false, message: error.message };
  }
};
window.__frames = () => document.getElementById('screen').getVideoPlaybackQuality().totalVideoFrames;
window.__ready = true;
`;
const HARNESS_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ivs adapter</title>
<script type="module" src="/__ivs_harness.js"></script></head>
<body><main><video id="screen" muted autoplay playsinline></video><audio id="audio" autoplay></audio></main></body></html>`;

const VIEWER_ANSWER = { live: true, mode: 'ivs', token: 'viewer.jwt.token', room: ROOM, identity: 'viewer-abc', media: { kind: 'ivs' } };

async function adapterPage() {
  const page = await newPage(browser);
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.errors = errors;
  await withDouble(page);
  await page.route(`${base}/__ivs_harness.js`, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: HARNESS }));
  // The page itself with the dev server's ivs headers (its CSP included).
  await page.route(`${base}/__ivs_adapter.html`, async (route) => {
    const real = await route.fetch({ url: `${base}/index.html` });
    await route.fulfill({ status: 200, headers: real.headers(), contentType: 'text/html; charset=utf-8', body: HARNESS_HTML });
  });
  await page.goto(`${base}/__ivs_adapter.html`);
  await page.waitForFunction(() => window.__ready === true);
  return page;
}

const watch = (page, answer = VIEWER_ANSWER) => page.evaluate((a) => window.__watch(a), answer);
const events = (page) => page.evaluate(() => window.__events);
const stages = (page) => page.evaluate(() => window.__ivs.summary());
const drive = (page, what) => page.evaluate((w) => window.__ivs[w](), what);

async function waitForEvent(page, want) {
  return until(`event ${JSON.stringify(want)}`, async () =>
    (await events(page)).find((e) => Object.entries(want).every(([k, v]) => e[k] === v)),
  );
}

test('the ivs viewer joins subscribe-only with its token, shows the publisher\'s picture and sound, follows the connection, and ends when the publisher leaves', async () => {
  const page = await adapterPage();
  assert.deepEqual(await watch(page), { joined: true });
  const [stage] = await stages(page);
  assert.deepEqual(stage, { token: VIEWER_ANSWER.token, left: false, joined: true, publishes: 0, shouldPublish: false });
  await waitForEvent(page, { event: 'state', state: 'live' });

  // The host arrives after the viewer (the stream `ready`): its streams reach the page.
  assert.equal(await drive(page, 'publisherJoins'), 'audio_video', 'the strategy subscribes to audio and video');
  await waitForEvent(page, { event: 'track', kind: 'screen', trackKind: 'video' });
  await waitForEvent(page, { event: 'track', kind: 'audio', trackKind: 'audio' });
  await until('frames in the video element', () => page.evaluate(() => window.__frames() > 5));

  // A connection that recovers: reconnecting, then live again.
  await drive(page, 'reconnects');
  await waitForEvent(page, { event: 'state', state: 'reconnecting' });
  await until('live again', async () => (await events(page)).filter((e) => e.state === 'live').length === 2);

  // Another participant leaving is not the end; the publisher leaving is.
  await drive(page, 'aViewerLeaves');
  await drive(page, 'publisherLeaves');
  await waitForEvent(page, { event: 'ended', how: 'ended' });
  assert.equal((await stages(page))[0].left, true, 'the stage is left');
  const all = await events(page);
  assert.equal(all.filter((e) => e.event === 'ended').length, 1, 'ended once');
  assert.equal(all.filter((e) => e.event === 'viewers').length, 0, 'no viewer count in ivs mode');

  // A second session loads the SDK no more.
  assert.deepEqual(await watch(page), { joined: true });
  assert.equal(page.sdkFetches, 1, 'the SDK is loaded once per page');
  assert.deepEqual(page.errors, []);
});

test('the stage deleted ends the stream; an error once joined (a subscribe error too) closes the stage as a lost connection', async () => {
  const page = await adapterPage();
  assert.deepEqual(await watch(page), { joined: true });
  await drive(page, 'publisherJoins');
  await drive(page, 'stageDeleted');
  await waitForEvent(page, { event: 'ended', how: 'ended' });
  assert.equal((await stages(page))[0].left, true);

  await page.evaluate(() => {
    window.__events = [];
  });
  assert.deepEqual(await watch(page), { joined: true });
  await drive(page, 'publisherJoins');
  await drive(page, 'errors');
  await waitForEvent(page, { event: 'ended', how: 'lost' });
  assert.equal((await stages(page))[1].left, true, 'the failed stage is left');
  assert.equal((await events(page)).filter((e) => e.event === 'ended').length, 1);

  // A subscribe the SDK gave up on, once joined: lost too, so the page rejoins.
  await page.evaluate(() => {
    window.__events = [];
  });
  assert.deepEqual(await watch(page), { joined: true });
  await drive(page, 'publisherJoins');
  await drive(page, 'subscribeFails');
  await waitForEvent(page, { event: 'ended', how: 'lost' });
  assert.equal((await stages(page))[2].left, true, 'the stage whose subscribe failed is left');
  assert.equal((await events(page)).filter((e) => e.event === 'ended').length, 1);
});

test('a join the stage refuses closes everything, says why, and reports no end', async () => {
  const page = await adapterPage();
  await page.evaluate(() => {
    window.__ivs = { refuse: 'Token is expired' };
  });
  const result = await watch(page);
  assert.equal(result.joined, false);
  assert.match(result.message, /could not be joined.*JOIN_ERROR.*Token is expired/);
  const [stage] = await stages(page);
  assert.equal(stage.left, true, 'the stage is left');
  assert.equal((await events(page)).filter((e) => e.event === 'ended').length, 0);
});

test('stop() leaves the stage and reports nothing back', async () => {
  const page = await adapterPage();
  assert.deepEqual(await watch(page), { joined: true });
  await drive(page, 'publisherJoins');
  await page.evaluate(() => window.__session.stop());
  assert.equal((await stages(page))[0].left, true);
  assert.equal((await events(page)).filter((e) => e.event === 'ended').length, 0);
});

test('the real vendored SDK loads under the ivs CSP with the API the adapter uses', async () => {
  const page = await newPage(browser);
  const violations = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${base}/host.html`, LOADED);
  const csp = (await page.request.get(`${base}/host.html`)).headers()['content-security-policy'];
  assert.match(csp, /connect-src [^;]*https:\/\/\*\.live-video\.net wss:\/\/\*\.live-video\.net/);
  assert.match(csp, /worker-src 'self' blob:/);
  const api = await page.evaluate(async () => {
    const IVS = await (await import('/js/media/sdk.js')).ivs();
    return {
      stage: typeof IVS.Stage,
      events: [IVS.StageEvents.STAGE_PARTICIPANT_STREAMS_ADDED, IVS.StageEvents.STAGE_PARTICIPANT_LEFT, IVS.StageEvents.STAGE_LEFT],
      subscribe: IVS.SubscribeType.AUDIO_VIDEO,
      states: [IVS.StageConnectionState.CONNECTED, IVS.StageConnectionState.ERRORED],
      left: [IVS.StageLeftReason.STAGE_DELETED, IVS.StageLeftReason.USER_INITIATED],
      types: [IVS.StreamType.VIDEO, IVS.StreamType.AUDIO],
      join: IVS.StageErrorCategory.JOIN_ERROR,
    };
  });
  assert.deepEqual(api, {
    stage: 'function',
    events: ['stageParticipantStreamsAdded', 'stageParticipantLeft', 'stageLeft'],
    subscribe: 'audio_video',
    states: ['connected', 'errored'],
    left: ['stage-deleted', 'user-initiated'],
    types: ['video', 'audio'],
    join: 'JOIN_ERROR',
  });
  assert.deepEqual(violations, []);
});

// --- the pages in ivs mode, with the API played by the test ---------------------------------

// `status` (a function of nothing) answers GET /status/<stream>; the rest as the ivs back end
// answers (the contract: the endpoint table in README.md "Endpoints", and docs/PAGES.md).
async function fakeApi(page, { status, calls = [] }) {
  const json = (route, body, code = 200) =>
    route.fulfill({ status: code, contentType: 'application/json', body: JSON.stringify(body) });
  await page.route(`${base}/host_session`, (route) => json(route, { session: 'host-session', expires_at: Math.floor(Date.now() / 1000) + 3600 }));
  await page.route(`${base}/host_token`, (route) => {
    calls.push('host_token');
    return json(route, {
      token: 'host.publish.token',
      room: ROOM,
      identity: 'host',
      mode: 'ivs',
      media: { kind: 'ivs', publish_url: `${WHIP}/` },
      expires_at: Math.floor(Date.now() / 1000) + 3600,
    });
  });
  await page.route(`${base}/stream_start`, (route) => {
    calls.push('stream_start');
    return json(route, { stream: 'talk', state: 'live', room: ROOM });
  });
  await page.route(`${base}/stream_stop`, (route) => {
    calls.push('stream_stop');
    return json(route, { stopped: true });
  });
  await page.route(`${base}/audience_token`, (route) => {
    calls.push('audience_token');
    return json(route, VIEWER_ANSWER);
  });
  await page.route(`${base}/status/*`, (route) => json(route, status()));
  return calls;
}

// A fake IVS WHIP endpoint: each offer is answered by a real RTCPeerConnection in `answerer`
// (so the host's connection really comes up), 201 with a Location; DELETEs are recorded.
async function fakeWhip(host, answerer, { exposeLocation = true } = {}) {
  const whip = { offers: [], deletes: [] };
  await host.route(`${WHIP}/**`, async (route) => {
    const request = route.request();
    if (request.method() === 'DELETE') {
      whip.deletes.push({ url: request.url(), authorization: request.headers().authorization });
      return route.fulfill({ status: 200, headers: { 'access-control-allow-origin': base }, body: '' });
    }
    const offer = request.postData();
    whip.offers.push({ url: request.url(), authorization: request.headers().authorization, type: request.headers()['content-type'], sdp: offer });
    const answer = await answerer.evaluate(async (sdp) => {
      const pc = new RTCPeerConnection();
      (window.__pcs ??= []).push(pc);
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      });
      return pc.localDescription.sdp;
    }, offer);
    return route.fulfill({
      status: 201,
      // Another origin: the Location is readable only where CORS exposes it.
      headers: {
        'content-type': 'application/sdp',
        location: `${WHIP}/session/1`,
        'access-control-allow-origin': base,
        ...(exposeLocation ? { 'access-control-expose-headers': 'Location' } : {}),
      },
      body: answer,
    });
  });
  return whip;
}

test('the host publishes to the stage over WHIP: Bearer token, H.264 and Opus first, the screen and the microphone only; the webcam is off and says why', async () => {
  const host = await newPage(browser);
  const answerer = await newPage(browser);
  const violations = [];
  host.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  // A webcam remembered from another mode: ivs mode must not open it.
  await host.addInitScript(() => localStorage.setItem('onair.host.camera', 'default'));
  await host.addInitScript(TRACK_PEER_CONNECTIONS);
  await host.addInitScript(TRACK_LOCAL_TRACKS);
  let state = 'ready';
  const calls = await fakeApi(host, { status: () => ({ stream: 'talk', state, room: ROOM }) });
  const whip = await fakeWhip(host, answerer);
  await host.goto(`${base}/host.html`, LOADED);
  await signIn(host, 'any');
  await openStudio(host, { title: 'talk', camera: false });

  const webcam = await host.evaluate(() => ({
    disabled: document.getElementById('camera-select').disabled,
    value: document.getElementById('camera-select').value,
    note: document.getElementById('camera-note').hidden ? null : document.getElementById('camera-note').textContent,
    overlay: document.getElementById('camera-overlay').hidden,
    waitingLine: document.getElementById('waiting-line').hidden,
    preview: document.getElementById('camera-preview').srcObject,
  }));
  assert.deepEqual(webcam, {
    disabled: true,
    value: 'none',
    note: 'No webcam in this mode: the stream carries one picture, your screen.',
    overlay: true,
    waitingLine: true,
    preview: null,
  });
  assert.ok(await host.isVisible('#camera-note'), 'the reason is visible');
  assert.equal(await host.getAttribute('#camera-select', 'aria-describedby'), 'camera-note', 'the picker is described by the reason');
  const requests = await host.evaluate(() => window.__mediaRequests);
  assert.deepEqual(
    requests.filter((r) => r.name === 'getUserMedia' && r.constraints.video),
    [],
    'no webcam was asked for, not even for a moment',
  );
  assert.ok(requests.some((r) => r.name === 'getUserMedia' && r.constraints.audio), 'the microphone was opened');
  await checkAccessibility(host, 'the ivs studio');

  await host.click('#go-live');
  await waitForStatus(host, 'You are live').catch(async (error) => {
    throw new Error(`${error.message}: ${await host.locator('#status').textContent()} / ${await host.locator('#problem').textContent()}`);
  });
  state = 'live';
  assert.deepEqual(calls.slice(-1), ['stream_start']);
  assert.equal(whip.offers.length, 1);
  const [offer] = whip.offers;
  assert.equal(offer.url, `${WHIP}/`);
  assert.equal(offer.authorization, 'Bearer host.publish.token');
  assert.equal(offer.type, 'application/sdp');
  const sections = offer.sdp.split('\r\n').filter((l) => l.startsWith('m=')).map((l) => l.split(' ')[0]);
  assert.deepEqual(sections, ['m=video', 'm=audio'], 'one video track (the screen) and the microphone');
  const { video, audio } = Object.fromEntries(codecOrder(offer.sdp).map((section) => [section.kind, section.codecs]));
  assert.equal(video[0], 'H264', `H.264 first: ${video.join(' ')}`);
  // Every H.264 profile before any other video codec (retransmission and FEC formats aside).
  const media = video.filter((name) => !['rtx', 'red', 'ulpfec', 'flexfec-03'].includes(name));
  assert.deepEqual([...new Set(media.slice(0, media.lastIndexOf('H264') + 1))], ['H264'], `H.264 before the others: ${video.join(' ')}`);
  assert.equal(audio[0], 'opus', `Opus first: ${audio.join(' ')}`);
  // The first H.264 format is Baseline (IVS takes Baseline only).
  const firstVideo = offer.sdp.split('\r\n').find((l) => l.startsWith('m=video')).split(' ')[3];
  assert.match(offer.sdp, new RegExp(`a=fmtp:${firstVideo} [^\\r]*profile-level-id=42`), 'H.264 Baseline first');
  // The screen at most 720p.
  const size = await host.evaluate(() => document.getElementById('preview').srcObject.getVideoTracks()[0].getSettings());
  assert.ok(size.width <= 1280 && size.height <= 720, `at most 720p: ${size.width}x${size.height}`);

  // What the connection really sends: H.264.
  const sent = await until('H.264 video sent', () =>
    host.evaluate(async () => {
      for (const pc of window.__peerConnections) {
        const stats = await pc.getStats();
        let codec = null;
        stats.forEach((s) => {
          if (s.type === 'outbound-rtp' && s.kind === 'video' && s.codecId && s.framesEncoded > 0) codec = stats.get(s.codecId)?.mimeType;
        });
        if (codec) return codec;
      }
      return null;
    }),
  );
  assert.equal(sent, 'video/H264');
  assert.equal(await host.isHidden('#viewers'), true, 'no viewer count in ivs mode');
  await checkAccessibility(host, 'the ivs live page');

  await host.click('#stop');
  await waitForStatus(host, 'Stream ended');
  assert.deepEqual(whip.deletes, [{ url: `${WHIP}/session/1`, authorization: 'Bearer host.publish.token' }]);
  assert.ok(calls.includes('stream_stop'));
  assert.deepEqual(violations, [], 'the ivs CSP allows the stage\'s WHIP endpoint');
});

test('the audience page in ivs mode: waiting, live with the stage\'s picture, ended when the publisher leaves; no viewer count', async () => {
  const viewer = await newPage(browser);
  await withDouble(viewer);
  let state = 'offline';
  const calls = await fakeApi(viewer, { status: () => (state === 'offline' ? { stream: 'talk', state } : { stream: 'talk', state, room: ROOM }) });
  await viewer.goto(`${base}/?stream=talk`, LOADED);
  await waitForStatus(viewer, 'Waiting for the stream to start');
  state = 'live';
  await until('the page joined the stage', () => viewer.evaluate(() => window.__ivs?.stages.length === 1));
  assert.ok(calls.includes('audience_token'));
  await viewer.evaluate(() => window.__ivs.publisherJoins());
  await waitForStatus(viewer, 'Live', 30000);
  assert.equal(await viewer.isHidden('#viewers'), true, 'no viewer count in ivs mode');
  state = 'offline';
  await viewer.evaluate(() => window.__ivs.publisherLeaves());
  await waitForStatus(viewer, 'The stream has ended', 30000);
  assert.equal((await viewer.evaluate(() => window.__ivs.summary()))[0].left, true);
});

test('a browser that cannot send H.264 is told so before anything is sent; a WHIP answer whose Location is not exposed is accepted', async () => {
  // Without H.264: Go live says why, and no offer leaves the page.
  const host = await newPage(browser);
  const answerer = await newPage(browser);
  await host.addInitScript(() => {
    const original = RTCRtpSender.getCapabilities.bind(RTCRtpSender);
    RTCRtpSender.getCapabilities = (kind) => {
      const capabilities = original(kind);
      return kind === 'video' ? { ...capabilities, codecs: capabilities.codecs.filter((c) => c.mimeType !== 'video/H264') } : capabilities;
    };
  });
  await fakeApi(host, { status: () => ({ stream: 'talk', state: 'ready', room: ROOM }) });
  const whip = await fakeWhip(host, answerer);
  await host.goto(`${base}/host.html`, LOADED);
  await signIn(host, 'any');
  await openStudio(host, { title: 'talk', camera: false });
  await host.click('#go-live');
  await host.waitForFunction(() => /H\.264 video/.test(document.getElementById('problem').textContent));
  assert.match(await host.locator('#problem').textContent(), /cannot send H\.264 video, which the video service requires/);
  assert.equal(whip.offers.length, 0);

  // An answer without a readable Location: live, and nothing to DELETE on stop.
  const page = await newPage(browser);
  await fakeApi(page, { status: () => ({ stream: 'talk', state: 'ready', room: ROOM }) });
  const plain = await fakeWhip(page, answerer, { exposeLocation: false });
  await page.goto(`${base}/host.html`, LOADED);
  await signIn(page, 'any');
  await openStudio(page, { title: 'talk', camera: false });
  await page.click('#go-live');
  await waitForStatus(page, 'You are live');
  await page.click('#stop');
  await waitForStatus(page, 'Stream ended');
  assert.equal(plain.offers.length, 1);
  assert.deepEqual(plain.deletes, []);
});
