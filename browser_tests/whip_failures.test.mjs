// The WHIP/WHEP media path when the relay or the back end fails, in real Chromium against the
// local stack. The failures are made in the page's own network (Playwright request
// interception); the stand-in is asked afterwards what is left: no viewer participant, no relay
// session, no open peer connection; the page says what happens and recovers by itself once the
// interception stops. The audience page waits 2 to 2.5 s after a first failed join, 4 to 4.5 s
// after a second and 8 to 8.5 s after a third (its own backoff); the deadlines below add room
// for a loaded machine.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import { closePages, launch, openPeerConnections } from './browser.mjs';
import * as pages from './pages.mjs';
import { NO_VIEWERS, goLive, openStudio, receivesMedia, signIn, statusOf, stopLive, until, viewersIn, waitForStatus } from './pages.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ name: 'whip-failures' });
  browser = await launch();
});

// A test that failed half way leaves no page open for the next one.
afterEach(closePages);

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const COULD_NOT_JOIN = 'Could not join the stream. Trying again in a few seconds…';
// The page's answer limit for an offer (whip.js) plus room for a loaded machine.
const UNANSWERED_MS = 10000 + 10000;
// The page's longest wait between two joins here (two failures), plus the join itself.
const RECOVERY_MS = 4500 + 20000;

const jsonError = (status, code, message) => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify({ error: { code, message } }),
});

async function nothingLeftBehind(viewer, room) {
  await until('every peer connection of the page closed', async () => (await openPeerConnections(viewer)) === 0, 10000);
  assert.deepEqual(await viewersIn(stack, room), NO_VIEWERS);
}

// A host live on `stream`; resolves to the page and its room.
async function liveHost(stream) {
  const host = await pages.openHost(browser, stack);
  await signIn(host);
  const { room } = await openStudio(host, { title: stream, camera: false });
  await goLive(host);
  return { host, room };
}

test('a viewer whose WHEP offer fails (5xx, then no answer) leaves nothing open, says so, and recovers by itself', async () => {
  const stream = 'whep-fails';
  const { host, room } = await liveHost(stream);

  let fault = 'refuse';
  const offers = [];
  const viewer = await pages.openViewer(browser, stack, {
    stream,
    prepare: (page) =>
      page.route('**/media/whep/**', async (route) => {
        offers.push(fault);
        if (fault === 'refuse') await route.fulfill(jsonError(503, 'unavailable', 'the relay is overloaded'));
        else if (fault === 'silent') return; // never answered: the page must give up by itself
        else await route.continue();
      }),
  });

  await until('a refused offer', () => offers.length === 1);
  await waitForStatus(viewer, COULD_NOT_JOIN);
  await nothingLeftBehind(viewer, room);

  fault = 'silent';
  await until('an unanswered offer', () => offers.length === 2, RECOVERY_MS);
  // Joining, the page still says what it said (the failure before): nothing new to tell.
  assert.equal(await statusOf(viewer), COULD_NOT_JOIN);
  await until('the unanswered offer given up', () => openPeerConnections(viewer).then((n) => n === 0), UNANSWERED_MS);
  await waitForStatus(viewer, COULD_NOT_JOIN);
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
  const stream = 'subscribe-fails';
  const { host, room } = await liveHost(stream);

  let refuse = true;
  const subscribes = [];
  const deletes = [];
  let answered;
  const viewer = await pages.openViewer(browser, stack, {
    stream,
    prepare: async (page) => {
      answered = page.waitForResponse((r) => new URL(r.url()).pathname.startsWith('/media/whep/'));
      page.on('response', (r) => {
        if (r.request().method() === 'DELETE') deletes.push([r.url(), r.status()]);
      });
      await page.route('**/subscribe', async (route) => {
        subscribes.push(refuse ? 502 : 'through');
        if (refuse) await route.fulfill(jsonError(502, 'upstream_error', 'Twilio could not be reached'));
        else await route.continue();
      });
    },
  });
  const offer = await answered;
  assert.equal(offer.status(), 201, 'the relay session exists');
  const sessionUrl = new URL(offer.headers().location, offer.url()).href;
  // The page DELETEs the session before it closes the peer connection, so the relay still
  // has it: 204, not a 404 in the console.
  await until('the DELETE of the relay session', () => deletes.some(([url]) => url === sessionUrl));
  assert.deepEqual(deletes[0], [sessionUrl, 204]);
  await waitForStatus(viewer, COULD_NOT_JOIN);
  await nothingLeftBehind(viewer, room);

  refuse = false;
  await receivesMedia(viewer, RECOVERY_MS);
  assert.deepEqual(subscribes, [502, 'through']);
  assert.equal((await viewersIn(stack, room)).sessions.length, 1);

  await stopLive(host);
  await Promise.all([host.close(), viewer.close()]);
});

test('a host whose WHIP offer is refused closes its peer connection, ends the room, says why and opens the next', async () => {
  const host = await pages.openHost(browser, stack, {
    prepare: (page) =>
      page.route('**/media/whip/**', (route) => route.fulfill(jsonError(503, 'unavailable', 'the relay is overloaded'))),
  });
  await signIn(host);
  const { room } = await openStudio(host, { title: 'whip-fails', camera: false });
  await host.click('#go-live');

  await host.waitForSelector('#problem:not([hidden])');
  await pages.studioReady(host);
  assert.equal(
    await host.locator('#problem').textContent(),
    'The stream could not start: the video service refused the connection (error 503)',
  );
  assert.equal(await statusOf(host), 'Offline');
  assert.equal(await openPeerConnections(host), 0);
  await until('the room completed', async () => {
    const state = await stack.state();
    return state.rooms.find((r) => r.unique_name === room)?.status === 'completed';
  });
  assert.notEqual(host.studioRooms.at(-1), room, 'a new room for the studio');
  await host.close();
});
