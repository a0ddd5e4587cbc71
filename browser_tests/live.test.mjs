// The product as a host and an audience use it, in real Chromium against the local stack
// (scripts/dev.sh: stand-in with its WHIP/WHEP relay, the functions, the dev server).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_PASSWORD, startStack } from './stack.mjs';
import { launch, screenshot } from './browser.mjs';
import * as pages from './pages.mjs';
import { goLive, receivesMedia, statusOf, until, waitForStatus } from './pages.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ name: 'live' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const openViewer = () => pages.openViewer(browser, stack);
const openHost = () => pages.openHost(browser, stack);

const rooms = async () => (await stack.state()).rooms;
const liveRooms = async () => (await rooms()).filter((r) => r.status === 'in-progress');
const runningLive = async () => {
  const state = await stack.state();
  return [...state.player_streamers, ...state.media_processors].filter((r) => r.status !== 'ended');
};

test('a wrong password shows an error and creates no room', async () => {
  const host = await openHost();
  const before = (await rooms()).length;
  await host.fill('#password', 'not the password');
  await host.click('#go-live');
  await host.waitForSelector('#problem:not([hidden])');
  assert.match(await host.locator('#problem').textContent(), /password is not right/);
  assert.equal(await statusOf(host), 'Offline');
  assert.equal((await rooms()).length, before);
  await host.close();
});

test('two waiting viewers join by themselves, stop, and rejoin the next stream', async () => {
  const viewers = [await openViewer(), await openViewer()];
  for (const viewer of viewers) assert.match(await statusOf(viewer), /Waiting/);

  const host = await openHost();
  await goLive(host, { camera: true });
  for (const viewer of viewers) {
    const stats = await receivesMedia(viewer);
    assert.ok(stats.framesDecoded > 0 && stats.audioSamples > 0);
    await viewer.waitForSelector('#unmute:not([hidden])');
    assert.equal(await viewer.locator('#screen').evaluate((v) => v.muted), true, 'starts muted');
  }
  // The webcam arrives as the small overlay.
  await viewers[0].waitForSelector('#camera:not([hidden])', { timeout: 20000 });
  for (const page of [host, ...viewers]) {
    await page.waitForFunction(() => document.getElementById('viewers').textContent === '2 viewers', null, { timeout: 20000 });
  }
  await screenshot(host, 'host-live');
  await screenshot(viewers[0], 'viewer-live');

  // Unmute is a real button.
  await viewers[0].click('#unmute');
  assert.equal(await viewers[0].locator('#screen').evaluate((v) => v.muted), false);

  await host.click('#go-live');
  await waitForStatus(host, 'Stream ended');
  for (const viewer of viewers) await waitForStatus(viewer, 'The stream has ended', 20000);
  assert.equal((await liveRooms()).length, 0);

  await goLive(host, { camera: false });
  for (const viewer of viewers) await receivesMedia(viewer);
  await host.click('#go-live');
  await waitForStatus(host, 'Stream ended');
  await Promise.all([host.close(), ...viewers.map((v) => v.close())]);
});

test("the browser's Stop sharing ends the stream", async () => {
  const host = await openHost();
  await goLive(host, { camera: false });
  assert.equal((await liveRooms()).length, 1);
  // What Chromium does when the user presses its "Stop sharing" bar: the track ends.
  await host.evaluate(() => {
    const track = document.getElementById('preview').srcObject.getVideoTracks()[0];
    track.stop();
    track.dispatchEvent(new Event('ended'));
  });
  await waitForStatus(host, 'Stream ended');
  await until('the room completed', async () => (await liveRooms()).length === 0);
  assert.deepEqual(await runningLive(), []);
  await host.close();
});

test('closing the host tab ends the stream', async () => {
  const host = await openHost();
  await goLive(host, { camera: false });
  assert.equal((await liveRooms()).length, 1);
  await host.close({ runBeforeUnload: true });
  await until('the room completed after the tab closed', async () => (await liveRooms()).length === 0, 15000);
  assert.deepEqual(await runningLive(), []);
});

test('a host can log in, go live and stop with the keyboard alone', async () => {
  const host = await openHost();
  await host.keyboard.press('Tab');
  assert.equal(await host.evaluate(() => document.activeElement.id), 'password');
  await host.keyboard.type(HOST_PASSWORD);
  await host.keyboard.press('Tab');
  assert.equal(await host.evaluate(() => document.activeElement.id), 'camera');
  await host.keyboard.press('Tab');
  assert.equal(await host.evaluate(() => document.activeElement.id), 'go-live');
  await host.keyboard.press('Enter');
  await waitForStatus(host, 'You are live');
  assert.equal(await host.evaluate(() => document.activeElement.id), 'go-live');
  await host.keyboard.press('Enter');
  await waitForStatus(host, 'Stream ended');
  assert.equal(await host.getAttribute('#go-live', 'aria-pressed'), 'false');
  await until('the room completed', async () => (await liveRooms()).length === 0);
  await host.close();
});
