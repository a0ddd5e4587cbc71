// Every state of both pages, as people see them: screenshots and axe-core in light and dark, on
// a desktop and on a phone (design.mjs), focus visible all the way through with the keyboard;
// and a normal session with a clean console. In real Chromium against the local stack.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import { closePages, launch, newPage } from './browser.mjs';
import { checkDesign, focusIsVisible } from './design.mjs';
import { watchConsole } from './console.mjs';
import * as pages from './pages.mjs';
import { goLive, openStudio, signIn, stopLive, until, waitForState, waitForStatus } from './pages.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ name: 'design' });
  browser = await launch();
});

// A test that failed half way leaves no page open for the next one.
afterEach(closePages);

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const jsonError = (status, code, message, headers = {}) => ({
  status,
  contentType: 'application/json',
  headers,
  body: JSON.stringify({ error: { code, message } }),
});

// Stops (and restarts) the host's pictures without ending anything: its video senders send
// nothing, as a stalled network would.
const pauseVideo = (host, paused) =>
  host.evaluate(async (paused) => {
    for (const pc of window.__peerConnections) {
      if (pc.connectionState === 'closed') continue;
      for (const sender of pc.getSenders()) {
        if (sender.track?.kind === 'video' || sender.__paused) {
          if (paused) sender.__paused = sender.track;
          await sender.replaceTrack(paused ? null : sender.__paused);
        }
      }
    }
  }, paused);

test('the host page, state by state', async () => {
  const host = await pages.openHost(browser, stack);
  await checkDesign(host, 'host-signin');
  const signInFocus = await focusIsVisible(host);
  for (const id of ['password', 'sign-in']) assert.ok(signInFocus.includes(id), `${id} is reached with Tab (${signInFocus})`);

  await host.fill('#password', 'not the password');
  await host.click('#sign-in');
  await host.waitForSelector('#problem:not([hidden])');
  assert.equal(await host.textContent('#problem'), 'That password is not right.');
  await checkDesign(host, 'host-signin-wrong');

  // A lock-out: the page counts down from Retry-After with the button disabled.
  await host.route('**/host_session', (route) =>
    route.fulfill(jsonError(429, 'rate_limited', 'too many wrong passwords', { 'Retry-After': '3' })),
  );
  await host.click('#sign-in');
  await host.waitForSelector('#lockout:not([hidden])');
  assert.match(await host.textContent('#lockout'), /^Try again in 0:0[1-3]\.$/);
  assert.equal(await host.isDisabled('#sign-in'), true);
  await checkDesign(host, 'host-signin-locked');
  await host.unroute('**/host_session');
  await until('the lock-out over', () => host.isEnabled('#sign-in'), 10000);
  assert.equal(await host.textContent('#lockout'), 'You can try again now.');

  await signIn(host);
  await host.fill('#stream-title', 'My Talk!');
  assert.equal(await host.textContent('#stream-slug'), `${stack.base}/?stream=my-talk`);
  await checkDesign(host, 'host-name');

  // A name that is live from another studio: host_token answers 409.
  await host.route('**/host_token', (route) => route.fulfill(jsonError(409, 'conflict', 'the stream is live')));
  await host.click('#open-studio');
  await host.waitForSelector('#problem:not([hidden])');
  assert.match(await host.textContent('#problem'), /“my-talk” is live from another studio/);
  await waitForState(host, 'name');
  await checkDesign(host, 'host-name-taken');
  await host.unroute('**/host_token');

  await openStudio(host, { title: 'design', camera: true });
  await checkDesign(host, 'host-studio');
  assert.equal(await host.getAttribute('#camera-select', 'aria-describedby'), null, 'the hidden ivs note describes nothing here');
  const studioFocus = await focusIsVisible(host);
  for (const id of ['rename', 'sign-out', 'camera-corner', 'copy-link', 'mic-select', 'camera-select', 'go-live']) {
    assert.ok(studioFocus.includes(id), `${id} is reached with Tab (${studioFocus})`);
  }

  await goLive(host);
  await checkDesign(host, 'host-live');
  await host.click('#mute');
  assert.equal(await host.getAttribute('#mute', 'aria-pressed'), 'true');
  assert.match(await host.textContent('#mute'), /Mute microphone/);
  await checkDesign(host, 'host-live-muted');
  const liveFocus = await focusIsVisible(host);
  for (const id of ['camera-corner', 'copy-link', 'mute', 'share-another', 'stop']) {
    assert.ok(liveFocus.includes(id), `${id} is reached with Tab (${liveFocus})`);
  }

  await stopLive(host);
  await checkDesign(host, 'host-stopped');
  await host.close();
});

test('the audience page, state by state', async () => {
  const invalid = await pages.openViewer(browser, stack, { stream: 'Not-A-Name!' });
  await waitForState(invalid, 'invalid');
  await checkDesign(invalid, 'viewer-invalid');
  await invalid.close();

  const stream = 'looks';
  const viewer = await pages.openViewer(browser, stack, { stream });
  await waitForStatus(viewer, 'Waiting for the stream to start');
  assert.equal(await viewer.textContent('#stream-name'), stream);
  await checkDesign(viewer, 'viewer-waiting');

  const host = await pages.openHost(browser, stack);
  await signIn(host);
  await openStudio(host, { title: stream, camera: true });
  await goLive(host);
  await pages.receivesMedia(viewer);
  await viewer.waitForSelector('#camera-overlay:not([hidden])');
  await viewer.waitForSelector('#unmute-prompt:not([hidden])');
  await checkDesign(viewer, 'viewer-live');
  const focus = await focusIsVisible(viewer);
  for (const id of ['camera-corner', 'unmute-prompt', 'mute', 'volume', 'pip', 'fullscreen']) {
    assert.ok(focus.includes(id), `${id} is reached with Tab (${focus})`);
  }

  await viewer.click('#unmute-prompt');
  await viewer.waitForSelector('#unmute-prompt', { state: 'hidden' });
  await checkDesign(viewer, 'viewer-live-unmuted');

  // Pictures stop arriving: "Reconnecting…" over the last frame; back to Live when they return.
  await pauseVideo(host, true);
  await waitForStatus(viewer, 'Reconnecting…', 15000);
  await checkDesign(viewer, 'viewer-reconnecting');
  await pauseVideo(host, false);
  await waitForStatus(viewer, 'Live', 15000);

  await viewer.evaluate(() => document.getElementById('player').requestFullscreen());
  await viewer.waitForFunction(() => document.getElementById('fullscreen').getAttribute('aria-pressed') === 'true');
  await checkDesign(viewer, 'viewer-fullscreen');
  await viewer.evaluate(() => document.exitFullscreen());

  await stopLive(host);
  await waitForStatus(viewer, 'The stream has ended');
  await checkDesign(viewer, 'viewer-ended');

  // Joining fails (the relay refuses): the page says so and tries again by itself.
  await viewer.route('**/media/whep/**', (route) => route.fulfill(jsonError(503, 'unavailable', 'overloaded')));
  await viewer.reload(pages.LOADED);
  await waitForStatus(viewer, 'Could not join the stream', 30000);
  await checkDesign(viewer, 'viewer-failed');
  await viewer.unroute('**/media/whep/**');

  // The service cannot be reached at all.
  await viewer.route('**/status/**', (route) => route.abort('connectionrefused'));
  await viewer.reload(pages.LOADED);
  await waitForStatus(viewer, 'OnAir cannot be reached', 30000);
  await checkDesign(viewer, 'viewer-unreachable');
  await Promise.all([viewer.close(), host.close()]);
});

test('a normal session leaves no console error and no failed request on either page', async () => {
  const host = await newPage(browser);
  const viewer = await newPage(browser);
  const hostConsole = watchConsole(host, 'host');
  const viewerConsole = watchConsole(viewer, 'viewer');
  const stream = 'clean';

  await pages.openHost(browser, stack, { page: host });
  await signIn(host);
  const first = await openStudio(host, { title: stream, camera: true });
  await pages.openViewer(browser, stack, { stream, page: viewer });
  await pages.viewersWaitIn(stack, first.room, 1);

  await goLive(host);
  await pages.receivesMedia(viewer);
  await stopLive(host);
  await waitForStatus(viewer, 'The stream has ended');

  await goLive(host);
  await pages.receivesMedia(viewer);
  // Closing the tab while live: the browser asks first (the page warns), then the beacon ends it.
  host.on('dialog', (dialog) => dialog.accept());
  await host.close({ runBeforeUnload: true });
  await waitForStatus(viewer, 'The stream has ended', 15000);
  await viewer.close();

  assert.deepEqual(hostConsole.unexpected(), []);
  assert.deepEqual(viewerConsole.unexpected(), []);
});
