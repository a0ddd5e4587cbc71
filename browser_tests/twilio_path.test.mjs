// The Twilio media path of the pages, with `Twilio.Video.connect` replaced by a test double at
// the SDK boundary (Twilio cannot be reached from tests). The double joins the stand-in's room
// as Twilio would, so the real back end sees the host and the viewer connected.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import { closePages, launch, newPage } from './browser.mjs';
import * as pages from './pages.mjs';
import { goLive, openStudio, signIn, stopLive, until, waitForStatus } from './pages.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ name: 'twilio-path', env: { MEDIA_PATH: 'twilio' } });
  browser = await launch();
});

// A test that failed half way leaves no page open for the next one.
afterEach(closePages);

after(async () => {
  await browser?.close();
  await stack?.stop();
});

// Appended to the vendored SDK as the page loads it: swaps `Twilio.Video.connect` for a double
// that records what the page asked for (and what it publishes later) and joins the stand-in's
// room as Twilio would. It carries no media: a viewer joined through it says "Starting…" and
// never "Live" (that needs frames).
const DOUBLE = () => {
  window.__connects = [];
  window.Twilio.Video.connect = async (token, options) => {
    const identity = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).grants.identity;
    window.__connects.push({
      token,
      identity,
      name: options.name,
      automaticSubscription: options.automaticSubscription,
      tracks: (options.tracks ?? []).map((t) => ({ kind: t.kind, name: t.name })),
    });
    await window.__joinRoom(options.name, identity);
    const handlers = {};
    window.__published = [];
    return {
      participants: new Map(),
      localParticipant: {
        unpublishTrack: (track) => window.__published.push(['unpublish', track.name]),
        publishTrack: async (track) => window.__published.push(['publish', track.name, track.mediaStreamTrack.id]),
      },
      on(event, handler) {
        (handlers[event] ??= []).push(handler);
      },
      disconnect() {
        window.__leaveRoom(options.name, identity);
        for (const handler of handlers.disconnected ?? []) handler();
      },
    };
  };
};

// A page of `open` (pages.openHost or pages.openViewer) with the double; `prepare(page)` runs
// before the page loads (to intercept or wait for requests).
async function pageWithDouble(open, options = {}) {
  const page = await newPage(browser);
  await page.exposeFunction('__joinRoom', async (room, identity) => {
    const response = await fetch(`${stack.standin}/__standin/rooms/${room}/participants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity }),
    });
    assert.equal(response.status, 201);
  });
  await page.exposeFunction('__leaveRoom', async (room, identity) => {
    await fetch(`${stack.standin}/__standin/rooms/${room}/participants/${identity}`, { method: 'DELETE' });
  });
  await page.route('**/vendor/twilio-video.min.js', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: `${await response.text()}\n;(${DOUBLE})();` });
  });
  return open(browser, stack, { ...options, page });
}

test('the pages use Twilio Video as the token response says: host with its tracks, viewer subscribe-only, another screen republished', async () => {
  const stream = 'twilio';
  const host = await pageWithDouble(pages.openHost);
  await signIn(host);
  const hostAnswer = await openStudio(host, { title: stream, camera: true });
  assert.deepEqual(hostAnswer.media, { kind: 'twilio' });
  await goLive(host);

  const [hostConnect] = await host.evaluate(() => window.__connects);
  assert.equal(hostConnect.token, hostAnswer.token);
  assert.equal(hostConnect.name, hostAnswer.room);
  assert.deepEqual(hostConnect.tracks, [
    { kind: 'video', name: 'screen' },
    { kind: 'audio', name: 'mic' },
    { kind: 'video', name: 'camera' },
  ]);

  let waiting;
  const page = await pageWithDouble(pages.openViewer, {
    stream,
    prepare: async (p) => {
      waiting = p.waitForResponse((r) => r.url().endsWith('/subscribe'), { timeout: 30000 });
    },
  });
  const answer = await waiting;
  assert.equal(answer.status(), 200, 'subscribe succeeded');
  const [viewerConnect] = await page.evaluate(() => window.__connects);
  assert.equal(viewerConnect.name, hostAnswer.room);
  assert.equal(viewerConnect.automaticSubscription, false);
  assert.deepEqual(viewerConnect.tracks, []);
  assert.match(viewerConnect.identity, /^viewer-/);
  assert.equal(answer.request().headers().authorization, `Bearer ${viewerConnect.token}`);
  const rules = (await answer.json()).rules;
  assert.deepEqual(rules.map((r) => [r.type, r.publisher]), [['include', 'host']]);
  await waitForStatus(page, 'Starting…');

  // Another screen: the SDK's way, the old `screen` track unpublished and a new one published.
  await host.click('#share-another');
  const published = await until('the new screen published', () =>
    host.evaluate(() => (window.__published.length === 2 ? window.__published : null)),
  );
  assert.deepEqual(published.map((p) => p.slice(0, 2)), [['unpublish', 'screen'], ['publish', 'screen']]);
  assert.equal(published[1][2], await host.evaluate(() => document.getElementById('preview').srcObject.getVideoTracks()[0].id));

  await stopLive(host);
  await Promise.all([host.close(), page.close()]);
});

// The viewer identities the double joined the stand-in's room with, and which of them are still
// connected there.
async function viewerJoins(page, room) {
  const joined = (await page.evaluate(() => window.__connects)).map((c) => c.identity);
  const state = await stack.state();
  const participants = state.rooms.find((r) => r.unique_name === room)?.participants ?? [];
  const connected = participants.filter((p) => joined.includes(p.identity) && p.status === 'connected');
  return { joined, connected: connected.map((p) => p.identity) };
}

test('a viewer whose subscribe is refused (502, then 404) leaves the room each time, says so, and joins once subscribe works', async () => {
  const stream = 'twilio-refused';
  const host = await pageWithDouble(pages.openHost);
  await signIn(host);
  const { room } = await openStudio(host, { title: stream, camera: false });
  await goLive(host);

  // The back end refuses the first two subscribes, then works again.
  const refusals = [
    { status: 502, code: 'upstream_error', message: 'Twilio could not be reached' },
    { status: 404, code: 'not_found', message: 'the stream is not live' },
  ];
  const answers = [];
  const viewer = await pageWithDouble(pages.openViewer, {
    stream,
    prepare: (page) =>
      page.route('**/subscribe', async (route) => {
        const refusal = refusals.shift();
        answers.push(refusal?.status ?? 'through');
        if (!refusal) return route.continue();
        await route.fulfill({
          status: refusal.status,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: refusal.code, message: refusal.message } }),
        });
      }),
  });
  const couldNotJoin = 'Could not join the stream. Trying again in a few seconds…';
  // The page waits 2 to 2.5 s after the first failure and 4 to 4.5 s after the second.
  for (const attempt of [1, 2]) {
    await until(`refused subscribe ${attempt}`, () => answers.length === attempt, 30000);
    await waitForStatus(viewer, couldNotJoin);
    const joins = await until(`the viewer of attempt ${attempt} out of the room`, async () => {
      const joins = await viewerJoins(viewer, room);
      return joins.connected.length === 0 && joins;
    });
    assert.equal(joins.joined.length, attempt, 'one join per attempt, each left');
  }

  await waitForStatus(viewer, 'Starting…', 30000);
  assert.deepEqual(answers, [502, 404, 'through']);
  const joins = await viewerJoins(viewer, room);
  assert.equal(joins.joined.length, 3);
  assert.deepEqual(joins.connected, [joins.joined[2]], 'only the last join is in the room');

  await stopLive(host);
  await Promise.all([host.close(), viewer.close()]);
});
