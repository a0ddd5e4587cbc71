// The Twilio media path of the pages, with `Twilio.Video.connect` replaced by a test double at
// the SDK boundary (Twilio cannot be reached from tests). The double joins the stand-in's room
// as Twilio would, so the real back end sees the host and the viewer connected.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_PASSWORD, startStack } from './stack.mjs';
import { launch, newPage } from './browser.mjs';
import { audienceSees, until, waitForStatus } from './pages.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ name: 'twilio-path', env: { MEDIA_PATH: 'twilio' } });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

// Appended to the vendored SDK as the page loads it: swaps `Twilio.Video.connect` for a double
// that records what the page asked for and joins the stand-in's room as Twilio would.
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
    return {
      participants: new Map(),
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

// `prepare(page)` runs before the page loads (to intercept or wait for requests).
async function pageWithDouble(path, prepare = async () => {}) {
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
  await prepare(page);
  await page.goto(`${stack.base}${path}`);
  return page;
}

test('the pages use Twilio Video as the token response says: host with its tracks, viewer subscribe-only', async () => {
  const host = await pageWithDouble('/host.html');
  const login = host.waitForResponse((r) => r.url().endsWith('/host_token'));
  await host.fill('#password', HOST_PASSWORD);
  await host.check('#camera');
  await host.click('#go-live');
  const hostAnswer = await (await login).json();
  assert.deepEqual(hostAnswer.media, { kind: 'twilio' });
  await host.waitForFunction(() => document.getElementById('status').textContent === 'You are live', null, { timeout: 30000 });

  const [hostConnect] = await host.evaluate(() => window.__connects);
  assert.equal(hostConnect.token, hostAnswer.token);
  assert.equal(hostConnect.name, hostAnswer.room);
  assert.deepEqual(hostConnect.tracks, [
    { kind: 'video', name: 'screen' },
    { kind: 'audio', name: 'mic' },
    { kind: 'video', name: 'camera' },
  ]);

  let waiting;
  const page = await pageWithDouble('/', async (p) => {
    waiting = p.waitForResponse((r) => r.url().endsWith('/subscribe'), { timeout: 30000 });
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

  await host.click('#go-live');
  await host.waitForFunction(() => document.getElementById('status').textContent === 'Stream ended');
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
  const host = await pageWithDouble('/host.html');
  const login = host.waitForResponse((r) => r.url().endsWith('/host_token'));
  await host.fill('#password', HOST_PASSWORD);
  await host.click('#go-live');
  const { room } = await (await login).json();
  await host.waitForFunction(() => document.getElementById('status').textContent === 'You are live', null, { timeout: 30000 });
  await audienceSees(stack, room);

  // The back end refuses the first two subscribes, then works again.
  const refusals = [
    { status: 502, code: 'upstream_error', message: 'Twilio could not be reached' },
    { status: 404, code: 'not_found', message: 'the stream is not live' },
  ];
  const answers = [];
  const viewer = await pageWithDouble('/', (page) =>
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
  );
  const couldNotJoin = 'Could not join the stream. Trying again in a few seconds…';
  // The page waits 10 to 12 s after the first failure and 20 to 22 s after the second.
  for (const [attempt, deadline] of [
    [1, 30000],
    [2, 40000],
  ]) {
    await until(`refused subscribe ${attempt}`, () => answers.length === attempt, deadline);
    await waitForStatus(viewer, couldNotJoin);
    const joins = await until(`the viewer of attempt ${attempt} out of the room`, async () => {
      const joins = await viewerJoins(viewer, room);
      return joins.connected.length === 0 && joins;
    });
    assert.equal(joins.joined.length, attempt, 'one join per attempt, each left');
  }

  await waitForStatus(viewer, 'Live', 40000);
  assert.deepEqual(answers, [502, 404, 'through']);
  const joins = await viewerJoins(viewer, room);
  assert.equal(joins.joined.length, 3);
  assert.deepEqual(joins.connected, [joins.joined[2]], 'only the last join is in the room');

  await host.click('#go-live');
  await host.waitForFunction(() => document.getElementById('status').textContent === 'Stream ended');
  await Promise.all([host.close(), viewer.close()]);
});
