// The WHIP/WHEP media path when the relay or the back end fails, in real Chromium against the
// local stack. The failures are made in the page's own network (Playwright request
// interception); the stand-in is asked afterwards what is left: no viewer participant, no relay
// session, no open peer connection; the page says what happens and recovers by itself once the
// interception stops. The audience page waits 10 to 12 s after a first failed join and 20 to 22 s
// after a second (its own backoff), so the deadlines below are that long.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_PASSWORD, startStack } from './stack.mjs';
import { launch, openPeerConnections } from './browser.mjs';
import * as pages from './pages.mjs';
import { NO_VIEWERS, audienceSees, goLive, receivesMedia, statusOf, stopLive, until, viewersIn, waitForStatus } from './pages.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ name: 'whip-failures' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const COULD_NOT_JOIN = 'Could not join the stream. Trying again in a few seconds…';
// The page's answer limit for an offer (whip.js) plus room for a loaded machine.
const UNANSWERED_MS = 10000 + 10000;
// The page's longest wait between two joins here (two failures), plus the join itself.
const RECOVERY_MS = 22000 + 20000;

const jsonError = (status, code, message) => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify({ error: { code, message } }),
});

async function nothingLeftBehind(viewer, room) {
  await until('every peer connection of the page closed', async () => (await openPeerConnections(viewer)) === 0, 10000);
  assert.deepEqual(await viewersIn(stack, room), NO_VIEWERS);
}

test('a viewer whose WHEP offer fails (5xx, then no answer) leaves nothing open, says so, and recovers by itself', async () => {
  const host = await pages.openHost(browser, stack);
  const room = await goLive(host, { camera: false });
  await audienceSees(stack, room);

  let fault = 'refuse';
  const offers = [];
  const viewer = await pages.openViewer(browser, stack, (page) =>
    page.route('**/media/whep/**', async (route) => {
      offers.push(fault);
      if (fault === 'refuse') await route.fulfill(jsonError(503, 'unavailable', 'the relay is overloaded'));
      else if (fault === 'silent') return; // never answered: the page must give up by itself
      else await route.continue();
    }),
  );

  await until('a refused offer', () => offers.length === 1);
  await waitForStatus(viewer, COULD_NOT_JOIN);
  await nothingLeftBehind(viewer, room);

  fault = 'silent';
  await until('an unanswered offer', () => offers.length === 2, RECOVERY_MS);
  assert.equal(await statusOf(viewer), 'Joining the stream…');
  await waitForStatus(viewer, COULD_NOT_JOIN, UNANSWERED_MS);
  await nothingLeftBehind(viewer, room);

  fault = null;
  const stats = await receivesMedia(viewer, RECOVERY_MS);
  assert.ok(stats.framesDecoded > 0);
  assert.deepEqual(offers, ['refuse', 'silent', null]);
  assert.equal(await openPeerConnections(viewer), 1);
  const watching = await viewersIn(stack, room);
  assert.equal(watching.participants.length, 1);
  assert.deepEqual(watching.sessions, watching.participants);

  await stopLive(host);
  await Promise.all([host.close(), viewer.close()]);
});

test('a viewer whose subscribe is refused after its WHEP session exists DELETEs the session, says so, and recovers', async () => {
  const host = await pages.openHost(browser, stack);
  const room = await goLive(host, { camera: false });
  await audienceSees(stack, room);

  let refuse = true;
  const subscribes = [];
  const deletes = [];
  let answered;
  const viewer = await pages.openViewer(browser, stack, async (page) => {
    answered = page.waitForResponse((r) => new URL(r.url()).pathname.startsWith('/media/whep/'));
    page.on('request', (r) => {
      if (r.method() === 'DELETE') deletes.push(r.url());
    });
    await page.route('**/subscribe', async (route) => {
      subscribes.push(refuse ? 502 : 'through');
      if (refuse) await route.fulfill(jsonError(502, 'upstream_error', 'Twilio could not be reached'));
      else await route.continue();
    });
  });
  const offer = await answered;
  assert.equal(offer.status(), 201, 'the relay session exists');
  const sessionUrl = new URL(offer.headers().location, offer.url()).href;
  // The DELETE may find the session gone already: the relay also ends it when the page's peer
  // connection closes. What matters is that the page sends it, and that nothing is left.
  await until('the DELETE of the relay session', () => deletes.includes(sessionUrl));
  await waitForStatus(viewer, COULD_NOT_JOIN);
  await nothingLeftBehind(viewer, room);

  refuse = false;
  await receivesMedia(viewer, RECOVERY_MS);
  assert.deepEqual(subscribes, [502, 'through']);
  assert.equal((await viewersIn(stack, room)).sessions.length, 1);

  await stopLive(host);
  await Promise.all([host.close(), viewer.close()]);
});

test('a host whose WHIP offer is refused closes its peer connection, ends the room and says why', async () => {
  const host = await pages.openHost(browser, stack, (page) =>
    page.route('**/media/whip/**', (route) => route.fulfill(jsonError(503, 'unavailable', 'the relay is overloaded'))),
  );
  const login = host.waitForResponse((r) => r.url().endsWith('/host_token'));
  await host.fill('#password', HOST_PASSWORD);
  await host.click('#go-live');
  const room = (await (await login).json()).room;

  await host.waitForSelector('#problem:not([hidden])');
  assert.equal(
    await host.locator('#problem').textContent(),
    'The stream could not start: the video service refused the connection (error 503)',
  );
  assert.equal(await statusOf(host), 'Offline');
  assert.equal(await host.getAttribute('#go-live', 'aria-pressed'), 'false');
  assert.equal(await openPeerConnections(host), 0);
  await until('the room completed', async () => {
    const state = await stack.state();
    return state.rooms.find((r) => r.unique_name === room)?.status === 'completed';
  });
  await host.close();
});
