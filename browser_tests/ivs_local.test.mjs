// AUDIENCE_MODE=ivs end to end on this machine, as `AUDIENCE_MODE=ivs scripts/dev.sh` runs it:
// the host page publishes over WHIP to the stand-in's stage endpoint with its self-signed
// participant token (the stand-in verifies it with the imported public key, as IVS does), and
// viewers watch over WHEP on the relay (the IVS SDK cannot reach a local stand-in; its adapter
// is tested against a double in ivs_path.test.mjs).
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import { closePages, launch } from './browser.mjs';
import { watchConsole } from './console.mjs';
import * as pages from './pages.mjs';
import { codecOrder, goLive, openStudio, receivesMedia, signIn, stopLive, until, waitForStatus } from './pages.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ name: 'ivs', env: { AUDIENCE_MODE: 'ivs' } });
  browser = await launch();
});

afterEach(closePages);

after(async () => {
  await browser?.close();
  await stack?.stop();
});

const ivsState = async () => (await fetch(`${stack.standin}/__standin/ivs/state`)).json();
const ivsCalls = async () => (await fetch(`${stack.standin}/__standin/ivs/calls`)).json();
const stageOf = async (arnOrId) => (await ivsState()).stages.find((s) => s.arn.endsWith(`/${arnOrId}`));

test('a host goes live on an IVS stage over WHIP (H.264 and Opus, Bearer token), a waiting viewer watches over the relay, and is told when it ends; nothing is left on the stage', async () => {
  const stream = 'crowd';
  const viewer = await pages.openViewer(browser, stack, { stream });
  const viewerConsole = watchConsole(viewer, 'viewer');
  await waitForStatus(viewer, 'Waiting for the stream to start');

  const host = await pages.openHost(browser, stack);
  const hostConsole = watchConsole(host, 'host');
  const offers = [];
  host.on('request', (request) => {
    if (request.method() === 'POST' && request.url().includes('/media/ivs/whip/')) offers.push(request);
  });
  await signIn(host);
  const studio = await openStudio(host, { title: stream, camera: false });
  assert.equal(studio.mode, 'ivs');
  assert.equal(studio.media.kind, 'ivs');
  const stageId = studio.room.replace(/^ivs-/, '');
  assert.match(studio.media.publish_url, new RegExp(`/media/ivs/whip/${stageId}$`));
  // The webcam is off in this mode and the page says why.
  assert.equal(await host.isDisabled('#camera-select'), true);
  assert.equal(await host.isVisible('#camera-note'), true);
  const stage = await stageOf(stageId);
  assert.ok(stage, 'the studio opened a stage');
  assert.equal(stage.name, `onair-${stream}`);

  await goLive(host);
  assert.equal(offers.length, 1, 'one WHIP offer');
  assert.equal(offers[0].headers().authorization, `Bearer ${studio.token}`);
  const sections = codecOrder(offers[0].postData());
  assert.deepEqual(sections.map((s) => s.kind), ['video', 'audio'], 'the screen and the microphone, no webcam');
  assert.equal(sections[0].codecs[0], 'H264');
  assert.equal(sections[1].codecs[0], 'opus');
  const published = await until('the host published on the stage', async () => {
    const now = await stageOf(stageId);
    return now?.active_session_id && now.participants.some((p) => p.connected && p.published) ? now : null;
  });
  assert.equal(published.participants.filter((p) => p.published).length, 1);

  // The waiting viewer joins by itself and plays the host's H.264 over the relay.
  await receivesMedia(viewer);
  const codec = await viewer.evaluate(async () => {
    for (const pc of window.__peerConnections ?? []) {
      const stats = await pc.getStats();
      for (const s of stats.values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && s.codecId) return stats.get(s.codecId)?.mimeType;
      }
    }
    return null;
  });
  assert.equal(codec, 'video/H264');

  // No IVS call per viewer: more viewers cost no call but the remembered lookup's.
  const before = (await ivsCalls()).length;
  const more = [await pages.openViewer(browser, stack, { stream }), await pages.openViewer(browser, stack, { stream })];
  for (const page of more) await receivesMedia(page);
  const during = (await ivsCalls()).slice(before).map((c) => c.operation);
  assert.ok(during.every((op) => op === 'ListStages' || op === 'GetStage'), `only lookups while viewers joined: ${during}`);
  assert.ok(during.filter((op) => op === 'ListStages').length <= 4, `lookups are remembered: ${during}`);

  await stopLive(host);
  for (const page of [viewer, ...more]) await waitForStatus(page, 'The stream has ended', 15000);
  await until('the stage deleted', async () => !(await stageOf(stageId)));
  const left = (await ivsState()).stages.filter((s) => s.name === `onair-${stream}`);
  for (const s of left) assert.equal(s.participants.filter((p) => p.connected).length, 0, 'no participant left connected');
  assert.deepEqual(hostConsole.unexpected(), []);
  assert.deepEqual(viewerConsole.unexpected(), []);
  await Promise.all([host.close(), viewer.close(), ...more.map((p) => p.close())]);
});
