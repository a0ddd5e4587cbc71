// What the tests do with the two pages against a started stack: open them, sign in, open the
// studio, go live, wait for a status line or any condition with a deadline (never a fixed
// sleep), and read what the stand-in holds for a room's viewers.
import assert from 'node:assert/strict';
import { HOST_PASSWORD } from './stack.mjs';
import { TRACK_PEER_CONNECTIONS, inboundStats, newPage } from './browser.mjs';

// A page is ready once its module scripts ran (DOMContentLoaded): the tests then wait for what
// they need, not for every image and style of a page on a busy machine.
export const LOADED = { waitUntil: 'domcontentloaded' };

export const statusOf = (page) => page.locator('#status').textContent();
export const stateOf = (page) => page.evaluate(() => document.body.dataset.state);

export async function waitForStatus(page, text, timeout = 30000) {
  await page.waitForFunction((want) => document.getElementById('status').textContent.startsWith(want), text, { timeout });
}

export async function waitForState(page, state, timeout = 30000) {
  await page.waitForFunction((want) => document.body.dataset.state === want, state, { timeout });
}

// Polls `check` until it returns something truthy, which it returns; fails at the deadline with
// the last value seen.
export async function until(what, check, timeout = 30000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what} did not happen within ${timeout} ms (last: ${JSON.stringify(last)})`);
}

// An audience page whose peer connections the test can read; `prepare(page)` runs before it
// loads (to intercept requests).
export async function openViewer(browser, stack, { stream = null, prepare = async () => {}, page = null } = {}) {
  const viewer = page ?? (await newPage(browser));
  await viewer.addInitScript(TRACK_PEER_CONNECTIONS);
  await prepare(viewer);
  await viewer.goto(`${stack.base}/${stream ? `?stream=${stream}` : ''}`, LOADED);
  return viewer;
}

// A host page; `host.studioRooms` lists the rooms its studio opened, oldest first.
export async function openHost(browser, stack, { prepare = async () => {}, page = null } = {}) {
  const host = page ?? (await newPage(browser));
  host.studioRooms = [];
  host.on('response', async (response) => {
    if (!response.url().endsWith('/host_token') || !response.ok()) return;
    const answer = await response.json().catch(() => null);
    if (answer?.room) host.studioRooms.push(answer.room);
  });
  await host.addInitScript(TRACK_PEER_CONNECTIONS);
  await prepare(host);
  await host.goto(`${stack.base}/host.html`, LOADED);
  return host;
}

export async function signIn(host, password = HOST_PASSWORD) {
  await host.fill('#password', password);
  await host.click('#sign-in');
  await waitForState(host, 'name');
}

// Names the stream and opens its studio; resolves to the host_token answer (room, token, ...).
export async function openStudio(host, { title = '', camera = true } = {}) {
  const login = host.waitForResponse((r) => r.url().endsWith('/host_token'), { timeout: 30000 });
  await host.fill('#stream-title', title);
  await host.click('#open-studio');
  const answer = await (await login).json();
  await studioReady(host);
  await chooseCamera(host, camera);
  return answer;
}

// The studio is open when its room is and Go live can be pressed.
export async function studioReady(host, timeout = 30000) {
  await host.waitForFunction(
    () => document.body.dataset.state === 'studio' && !document.getElementById('go-live').disabled && document.getElementById('audience-link').value,
    null,
    { timeout },
  );
}

export async function chooseCamera(host, camera) {
  const want = camera ? 'default' : 'none';
  if ((await host.inputValue('#camera-select')) !== want) await host.selectOption('#camera-select', want);
  await host.waitForSelector(camera ? '#camera-overlay:not([hidden])' : '#camera-overlay[hidden]', { state: 'attached' });
}

// From sign-in to live; resolves to the host_token answer of the room that went live.
export async function signInAndGoLive(host, { title = '', camera = true } = {}) {
  await signIn(host);
  const login = await openStudio(host, { title, camera });
  await goLive(host);
  return login;
}

// Goes live from an open studio.
export async function goLive(host) {
  await host.click('#go-live');
  await waitForStatus(host, 'You are live');
  assert.equal(await stateOf(host), 'live');
}

// Stops from the live page; resolves once the studio is open again with the next room.
export async function stopLive(host) {
  await host.click('#stop');
  await waitForStatus(host, 'Stream ended');
  await studioReady(host);
}

// Waits until a viewer says "Live" and decodes video frames and audio; resolves to the totals.
export async function receivesMedia(viewer, timeout = 40000) {
  await waitForStatus(viewer, 'Live', timeout);
  return until('video frames and audio on a viewer', async () => {
    const stats = await inboundStats(viewer);
    return stats.framesDecoded > 0 && stats.audioSamples > 0 ? stats : null;
  });
}

// The viewers the stand-in holds in a room: its connected `viewer-*` participants and the
// relay's viewer sessions.
export async function viewersIn(stack, roomName) {
  const [state, media] = await Promise.all([stack.state(), stack.media()]);
  const room = state.rooms.find((r) => r.unique_name === roomName);
  return {
    participants: (room?.participants ?? [])
      .filter((p) => p.identity.startsWith('viewer-') && p.status === 'connected')
      .map((p) => p.identity),
    sessions: media.sessions.filter((s) => s.room_name === roomName && s.role === 'viewer').map((s) => s.identity),
  };
}

export const NO_VIEWERS = { participants: [], sessions: [] };

// Waits until `count` viewers wait in (or watch) `room` on the relay: they joined before the host.
export async function viewersWaitIn(stack, room, count, timeout = 30000) {
  await until(`${count} viewer sessions in ${room}`, async () => (await viewersIn(stack, room)).sessions.length === count, timeout);
}

// The m= sections of an SDP, each with its payload types' codec names in the order offered.
export function codecOrder(sdp) {
  return sdp.split(/\r?\nm=/).slice(1).map((section) => {
    const kind = section.split(' ')[0];
    const order = section.split(/\r?\n/)[0].split(' ').slice(3);
    const names = new Map([...section.matchAll(/a=rtpmap:(\d+) ([^/]+)\//g)].map((m) => [m[1], m[2]]));
    return { kind, codecs: order.map((pt) => names.get(pt)) };
  });
}
