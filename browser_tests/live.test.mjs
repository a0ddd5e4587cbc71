// The product as hosts and audiences use it, in real Chromium against the local stack
// (scripts/dev.sh: stand-in with its WHIP/WHEP relay, the functions, the dev server).
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_PASSWORD, startStack } from './stack.mjs';
import { closePages, inboundStats, launch, openPeerConnections } from './browser.mjs';
import * as pages from './pages.mjs';
import {
  goLive,
  openStudio,
  receivesMedia,
  signIn,
  stateOf,
  statusOf,
  stopLive,
  until,
  viewersIn,
  viewersWaitIn,
  waitForState,
  waitForStatus,
} from './pages.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ name: 'live' });
  browser = await launch();
});

// A test that failed half way leaves no page open for the next one.
afterEach(closePages);

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const openViewer = (options) => pages.openViewer(browser, stack, options);
const openHost = (options) => pages.openHost(browser, stack, options);

const roomStatus = async (name) => (await stack.state()).rooms.find((r) => r.unique_name === name)?.status;

// Counts the page's calls of getDisplayMedia (the screen picker), from before it loads.
const COUNT_PICKERS = () => {
  window.__pickers = 0;
  const original = navigator.mediaDevices.getDisplayMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getDisplayMedia = (...args) => {
    window.__pickers++;
    return original(...args);
  };
};

test('a wrong password is refused before any room exists or any screen picker opens', async () => {
  const host = await openHost({ prepare: (page) => page.addInitScript(COUNT_PICKERS) });
  const before = (await stack.state()).rooms.length;
  await host.fill('#password', 'not the password');
  await host.click('#sign-in');
  await host.waitForSelector('#problem:not([hidden])');
  assert.equal(await host.textContent('#problem'), 'That password is not right.');
  assert.equal(await stateOf(host), 'signin');
  assert.equal((await stack.state()).rooms.length, before);
  assert.equal(await host.evaluate(() => window.__pickers), 0);
  // A meeting starts from here too (the meeting page is its own).
  assert.equal(await host.getAttribute('#start-meeting', 'href'), '/meet.html');
  assert.equal(await host.isVisible('#start-meeting'), true);
  await host.close();
});

test('waiting viewers of a named stream join its studio before the host goes live, watch, and wait for the next take', async () => {
  const stream = 'talk-a';
  const viewers = [await openViewer({ stream }), await openViewer({ stream })];
  for (const viewer of viewers) {
    await waitForStatus(viewer, 'Waiting for the stream to start');
    assert.equal(await viewer.textContent('#stream-name'), stream);
  }

  const host = await openHost();
  await host.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.base });
  await signIn(host);
  await host.fill('#stream-title', 'Talk A!');
  assert.equal(await host.textContent('#stream-slug'), `${stack.base}/?stream=${stream}`);
  const studio = await openStudio(host, { title: 'Talk A!', camera: true });
  assert.equal(studio.stream, stream);
  assert.match(studio.room, new RegExp(`^livestream-${stream}-[a-z0-9]+$`));
  assert.equal(await host.inputValue('#audience-link'), `${stack.base}/?stream=${stream}`);
  await host.click('#copy-link');
  assert.equal(await host.evaluate(() => navigator.clipboard.readText()), `${stack.base}/?stream=${stream}`);

  // Before Go live the viewers are already in the room, on the relay, waiting.
  await viewersWaitIn(stack, studio.room, 2);
  await host.waitForFunction(() => document.getElementById('waiting-viewers').textContent === '2 people');
  for (const viewer of viewers) assert.match(await statusOf(viewer), /^Waiting/);

  await goLive(host);
  for (const viewer of viewers) {
    const stats = await receivesMedia(viewer);
    assert.ok(stats.framesDecoded > 0 && stats.audioSamples > 0);
    assert.equal(await viewer.locator('#screen').evaluate((v) => v.muted), true, 'starts muted');
    await viewer.waitForSelector('#unmute-prompt:not([hidden])');
    await viewer.waitForSelector('#camera-overlay:not([hidden])', { timeout: 20000 });
    await viewer.waitForFunction(() => document.getElementById('viewers').textContent === '2 watching', null, { timeout: 20000 });
  }
  await host.waitForFunction(() => document.getElementById('viewers').textContent === '2 viewers', null, { timeout: 20000 });
  assert.equal((await viewersIn(stack, studio.room)).sessions.length, 2, 'the same sessions: nobody joined again');

  // The prompt on the picture unmutes, and the mute toggle keeps its label.
  await viewers[0].click('#unmute-prompt');
  assert.equal(await viewers[0].locator('#screen').evaluate((v) => v.muted), false);
  assert.equal(await viewers[0].getAttribute('#mute', 'aria-pressed'), 'false');
  assert.equal(await viewers[0].getAttribute('#mute', 'aria-label'), 'Mute');

  await stopLive(host);
  for (const viewer of viewers) await waitForStatus(viewer, 'The stream has ended', 10000);
  assert.equal(await roomStatus(studio.room), 'completed');
  // Back in the studio, the next room is open and the viewers wait in it already.
  const next = await until('the next room', () => host.studioRooms.at(-1) !== studio.room && host.studioRooms.at(-1));
  await viewersWaitIn(stack, next, 2);
  for (const viewer of viewers) assert.match(await statusOf(viewer), /^The stream has ended/);

  await pages.chooseCamera(host, false);
  await goLive(host);
  for (const viewer of viewers) await receivesMedia(viewer);
  await stopLive(host);
  await Promise.all([host.close(), ...viewers.map((v) => v.close())]);
});

test('two named streams are live at once, each to its own audience; a name that is live is refused', async () => {
  const [hostOne, hostTwo] = [await openHost(), await openHost()];
  await signIn(hostOne);
  const one = await openStudio(hostOne, { title: 'one', camera: false });
  await signIn(hostTwo);
  const two = await openStudio(hostTwo, { title: 'two', camera: false });
  await goLive(hostOne);
  await goLive(hostTwo);
  const [viewerOne, viewerTwo] = [await openViewer({ stream: 'one' }), await openViewer({ stream: 'two' })];
  await receivesMedia(viewerOne);
  await receivesMedia(viewerTwo);
  assert.equal((await viewersIn(stack, one.room)).sessions.length, 1);
  assert.equal((await viewersIn(stack, two.room)).sessions.length, 1);

  const third = await openHost();
  await signIn(third);
  await third.fill('#stream-title', 'one');
  await third.click('#open-studio');
  await third.waitForSelector('#problem:not([hidden])');
  assert.match(await third.textContent('#problem'), /“one” is live from another studio/);
  assert.equal(await stateOf(third), 'name');

  await stopLive(hostOne);
  await waitForStatus(viewerOne, 'The stream has ended', 10000);
  assert.equal(await statusOf(viewerTwo), 'Live');
  await stopLive(hostTwo);
  await Promise.all([hostOne, hostTwo, third, viewerOne, viewerTwo].map((p) => p.close()));
});

test("the browser's Stop sharing ends the stream and the studio opens the next room", async () => {
  const host = await openHost();
  await signIn(host);
  const studio = await openStudio(host, { title: 'stop-sharing', camera: false });
  await goLive(host);
  // What Chromium does when the user presses its "Stop sharing" bar: the track ends.
  await host.evaluate(() => {
    const track = document.getElementById('preview').srcObject.getVideoTracks()[0];
    track.stop();
    track.dispatchEvent(new Event('ended'));
  });
  await waitForStatus(host, 'Stream ended');
  await pages.studioReady(host);
  await until('the room completed', async () => (await roomStatus(studio.room)) === 'completed');
  await host.close();
});

test('closing the host tab while live asks first, then ends the stream', async () => {
  const host = await openHost();
  await signIn(host);
  const studio = await openStudio(host, { title: 'tab-close', camera: false });
  await goLive(host);
  const asked = new Promise((resolve) => {
    host.on('dialog', async (dialog) => {
      resolve(dialog.type());
      await dialog.accept();
    });
  });
  await host.close({ runBeforeUnload: true });
  assert.equal(await asked, 'beforeunload');
  await until('the room completed after the tab closed', async () => (await roomStatus(studio.room)) === 'completed', 15000);
});

test('a host signs in, opens the studio, goes live and stops with the keyboard alone', async () => {
  const host = await openHost();
  const focused = () => host.evaluate(() => document.activeElement.id);
  assert.equal(await focused(), 'password', 'the password field has the focus');
  await host.keyboard.type(HOST_PASSWORD);
  await host.keyboard.press('Enter');
  await waitForState(host, 'name');
  assert.equal(await focused(), 'stream-title');
  await host.keyboard.type('keys');
  await host.keyboard.press('Enter');
  await pages.studioReady(host);
  await host.focus('#go-live');
  await host.keyboard.press('Enter');
  await waitForStatus(host, 'You are live');
  assert.equal(await focused(), 'stop');
  await host.keyboard.press('Enter');
  await waitForStatus(host, 'Stream ended');
  await pages.studioReady(host);
  assert.equal(await focused(), 'go-live');
  await host.close();
});

test('the host shares another screen without stopping: the viewers keep their connection', async () => {
  const host = await openHost();
  await signIn(host);
  const studio = await openStudio(host, { title: 'switch', camera: false });
  await goLive(host);
  const viewer = await openViewer({ stream: 'switch' });
  await receivesMedia(viewer);
  const sent = () =>
    host.evaluate(() => window.__peerConnections.find((pc) => pc.connectionState !== 'closed').getSenders()[0].track?.id);
  const first = await sent();
  await host.click('#share-another');
  await until('the new screen on the sender', async () => (await sent()) !== first);
  assert.equal(await statusOf(host), 'You are live');
  const before = (await inboundStats(viewer)).framesDecoded;
  await until('frames of the new screen on the viewer', async () => (await inboundStats(viewer)).framesDecoded > before + 30);
  assert.equal(await openPeerConnections(viewer), 1, 'the same connection');
  assert.equal((await viewersIn(stack, studio.room)).sessions.length, 1);
  assert.equal(await statusOf(viewer), 'Live');
  await stopLive(host);
  await Promise.all([host.close(), viewer.close()]);
});

test('a viewer whose media stalls for 10 s says Reconnecting… and plays again by itself', async () => {
  const host = await openHost();
  await signIn(host);
  const studio = await openStudio(host, { title: 'stall', camera: false });
  await goLive(host);
  const viewer = await openViewer({ stream: 'stall' });
  await receivesMedia(viewer);

  const stall = await fetch(`${stack.standin}/__standin/media/stall`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ room: studio.room, seconds: 10 }),
  });
  assert.equal(stall.status, 200);
  const { until_ms: back } = await stall.json();
  await waitForStatus(viewer, 'Reconnecting…', 10000);
  assert.equal(await viewer.isVisible('#live-badge'), false, 'not "Live" without frames');
  // Playing again within 3 s of the media coming back, with no click.
  await waitForStatus(viewer, 'Live', back - Date.now() + 3000);
  const playing = await inboundStats(viewer);
  await until('frames decoded again', async () => (await inboundStats(viewer)).framesDecoded > playing.framesDecoded);
  assert.ok(Date.now() - back < 3000 + 1000, 'frames within 3 s of the stall ending');
  await stopLive(host);
  await waitForStatus(viewer, 'The stream has ended', 10000);
  await Promise.all([host.close(), viewer.close()]);
});

test('the viewer controls: keyboard shortcuts, full screen, picture-in-picture, volume, the webcam corner', async () => {
  const host = await openHost();
  await signIn(host);
  await openStudio(host, { title: 'controls', camera: true });
  await goLive(host);
  const viewer = await openViewer({ stream: 'controls' });
  await receivesMedia(viewer);
  await viewer.waitForSelector('#camera-overlay:not([hidden])', { timeout: 20000 });
  const video = (what) => viewer.locator('#screen').evaluate((v, what) => v[what], what);

  await viewer.keyboard.press('m');
  assert.equal(await video('muted'), false);
  assert.equal(await viewer.getAttribute('#mute', 'aria-pressed'), 'false');
  await viewer.focus('#volume');
  await viewer.keyboard.press('ArrowLeft');
  await viewer.keyboard.press('ArrowLeft');
  assert.equal(await video('volume'), 0.9);
  await viewer.keyboard.press('m');
  assert.equal(await video('muted'), true);

  // The button follows the page's fullscreenchange event, which may come a moment after the
  // element is full screen: wait for the button itself.
  await viewer.keyboard.press('f');
  await viewer.waitForFunction(() => document.fullscreenElement?.id === 'player');
  await viewer.waitForSelector('#fullscreen[aria-pressed="true"]', { timeout: 5000 });
  await viewer.keyboard.press('f');
  await viewer.waitForFunction(() => !document.fullscreenElement);
  await viewer.dblclick('#screen');
  await viewer.waitForFunction(() => document.fullscreenElement?.id === 'player');
  await viewer.click('#fullscreen');
  await viewer.waitForFunction(() => !document.fullscreenElement);

  await viewer.keyboard.press('i');
  await viewer.waitForFunction(() => document.pictureInPictureElement?.id === 'screen');
  await viewer.waitForSelector('#pip[aria-pressed="true"]', { timeout: 5000 });
  await viewer.click('#pip');
  await viewer.waitForFunction(() => !document.pictureInPictureElement);

  // The webcam's corner, by keyboard on its handle; remembered on the next visit.
  await viewer.focus('#camera-corner');
  await viewer.keyboard.press('ArrowUp');
  assert.equal(await viewer.getAttribute('#camera-overlay', 'data-corner'), 'top-right');
  await viewer.keyboard.press('ArrowLeft');
  assert.equal(await viewer.getAttribute('#camera-overlay', 'data-corner'), 'top-left');
  await viewer.reload(pages.LOADED);
  assert.equal(await viewer.getAttribute('#camera-overlay', 'data-corner'), 'top-left');

  await stopLive(host);
  await Promise.all([host.close(), viewer.close()]);
});

test('a link that names no valid stream says so and asks the API nothing', async () => {
  const asked = [];
  const viewer = await openViewer({
    stream: 'Not_A_Name',
    prepare: (page) => page.on('request', (r) => !r.url().match(/\.(js|css|svg|html)$|\/\?stream=/) && asked.push(r.url())),
  });
  await waitForState(viewer, 'invalid');
  assert.equal(await statusOf(viewer), 'This link does not name a stream.');
  assert.deepEqual(asked, []);
  await viewer.close();
});
