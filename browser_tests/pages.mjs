// What the tests do with the two pages against a started stack: open them, go live, wait for a
// status line or any condition with a deadline (never a fixed sleep), and read what the stand-in
// holds for a room's viewers.
import assert from 'node:assert/strict';
import { HOST_PASSWORD } from './stack.mjs';
import { TRACK_PEER_CONNECTIONS, inboundStats, newPage } from './browser.mjs';

export const statusOf = (page) => page.locator('#status').textContent();

export async function waitForStatus(page, text, timeout = 30000) {
  await page.waitForFunction((want) => document.getElementById('status').textContent.startsWith(want), text, { timeout });
}

// Polls `check` until it returns something truthy, which it returns; fails at the deadline with
// the last value seen.
export async function until(what, check, timeout = 30000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`${what} did not happen within ${timeout} ms (last: ${JSON.stringify(last)})`);
}

// An audience page whose peer connections the test can read; `prepare(page)` runs before it
// loads (to intercept requests).
export async function openViewer(browser, stack, prepare = async () => {}) {
  const page = await newPage(browser);
  await page.addInitScript(TRACK_PEER_CONNECTIONS);
  await prepare(page);
  await page.goto(`${stack.base}/`);
  return page;
}

export async function openHost(browser, stack, prepare = async () => {}) {
  const page = await newPage(browser);
  await page.addInitScript(TRACK_PEER_CONNECTIONS);
  await prepare(page);
  await page.goto(`${stack.base}/host.html`);
  return page;
}

// Goes live from the host page; resolves to the room's name (from the host_token answer).
export async function goLive(host, { camera = true } = {}) {
  const login = host.waitForResponse((r) => r.url().endsWith('/host_token'));
  await host.fill('#password', HOST_PASSWORD);
  if (camera) await host.check('#camera');
  else await host.uncheck('#camera');
  await host.click('#go-live');
  await waitForStatus(host, 'You are live');
  assert.equal(await host.getAttribute('#go-live', 'aria-pressed'), 'true');
  return (await (await login).json()).room;
}

export async function stopLive(host) {
  await host.click('#go-live');
  await waitForStatus(host, 'Stream ended');
}

// Waits until audience_token names this room (its answer is cached for a few seconds, so just
// after a stream ended it may still name that one).
export async function audienceSees(stack, room) {
  await until(`audience_token naming ${room}`, async () => {
    const answer = await (await fetch(`${stack.base}/audience_token`, { method: 'POST' })).json();
    return answer.room === room;
  });
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
