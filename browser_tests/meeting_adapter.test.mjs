// The meeting adapter on the local media path (static/js/meeting/relay.js) in real Chromium
// against the stand-in's relay, on a bare page (meeting_adapter_page.mjs), without the meeting
// page: two participants decode each other's camera and microphone, see each other's mute and
// screen, and see each other leave; a WHEP session to a participant that fails (refused, never
// answered) is closed, leaves nothing on the relay and is tried again until it works; a refused
// camera session rejects joinMeeting after closing everything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import { launch, openPeerConnections } from './browser.mjs';
import { until } from './pages.mjs';
import {
  createMeeting,
  decodes,
  eventsOf,
  join,
  meetingToken,
  openAdapterPage,
  waitForEvent,
} from './meeting_adapter_page.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ name: 'meeting-adapter' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

// Participants the stand-in holds connected in the room, and the relay sessions of the room,
// as `identity:role:publishes-or-watching` sorted.
async function roomState(room) {
  const [state, media] = await Promise.all([stack.state(), stack.media()]);
  const participants = (state.rooms.find((r) => r.unique_name === room && r.status === 'in-progress')?.participants ?? [])
    .filter((p) => p.status === 'connected')
    .map((p) => p.identity)
    .sort();
  const sessions = media.sessions.filter((s) => s.room_name === room);
  return { participants, sessions };
}

const sessionsOf = (sessions, identity) => sessions.filter((s) => s.identity === identity);

test('two participants decode each other, see mute and a shared screen, and see each other leave within 2 s', async () => {
  const created = await createMeeting(stack);
  assert.match(created.invite_url, /\/meet\.html#invite=/);
  const ana = await openAdapterPage(browser, stack);
  const bo = await openAdapterPage(browser, stack);
  const anaAnswer = await meetingToken(stack, created.invite, 'Ana');
  const boAnswer = await meetingToken(stack, created.invite, 'Bo');
  assert.deepEqual(anaAnswer.media.kind, 'whip');
  assert.equal(anaAnswer.room, boAnswer.room);
  const [a, b] = [anaAnswer.identity, boAnswer.identity];

  assert.deepEqual(await join(ana, anaAnswer), { joined: true });
  assert.deepEqual(await join(bo, boAnswer), { joined: true });

  // Each is told of itself (local) and of the other, by name.
  for (const [page, me, myName, other, otherName] of [
    [ana, a, 'Ana', b, 'Bo'],
    [bo, b, 'Bo', a, 'Ana'],
  ]) {
    await waitForEvent(page, { event: 'participant', identity: me, local: true, name: myName });
    await waitForEvent(page, { event: 'participant', identity: other, local: false, name: otherName });
    await waitForEvent(page, { event: 'track', identity: other, kind: 'camera', trackKind: 'video' });
    await waitForEvent(page, { event: 'track', identity: other, kind: 'mic', trackKind: 'audio' });
    await decodes(page, other, 'camera');
    await decodes(page, other, 'mic');
    assert.equal(await openPeerConnections(page), 2, 'its camera session and one WHEP session');
  }
  // The stand-in: one participant per person; each has a camera session and watches the other.
  const both = await roomState(anaAnswer.room);
  assert.deepEqual(both.participants, [a, b].sort());
  for (const [me, other] of [
    [a, b],
    [b, a],
  ]) {
    const mine = sessionsOf(both.sessions, me);
    assert.deepEqual(mine.map((s) => s.publishes ?? 'watching').sort(), ['camera', 'watching']);
    const otherSid = both.sessions.find((s) => s.identity === other).participant_sid;
    assert.equal(mine.find((s) => s.role === 'viewer').watching, otherSid);
  }

  // Muting: the others are told through the room status.
  await ana.evaluate(() => window.__call.setMicEnabled(false));
  await waitForEvent(bo, { event: 'muted', identity: a, kind: 'mic', muted: true });
  await ana.evaluate(() => window.__call.setCameraEnabled(false));
  await waitForEvent(bo, { event: 'muted', identity: a, kind: 'camera', muted: true });
  await ana.evaluate(() => window.__call.setMicEnabled(true));
  await waitForEvent(bo, { event: 'muted', identity: a, kind: 'mic', muted: false });

  // Bo shares a screen: Ana receives it as its own track and decodes it; stopping takes it back.
  await bo.evaluate(async () => {
    window.__screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    await window.__call.shareScreen(window.__screen.getVideoTracks()[0]);
  });
  await waitForEvent(ana, { event: 'track', identity: b, kind: 'screen', trackKind: 'video' });
  await decodes(ana, b, 'screen');
  await bo.evaluate(() => window.__call.stopScreen());
  await waitForEvent(ana, { event: 'gone', identity: b, kind: 'screen' });
  assert.deepEqual(
    sessionsOf((await roomState(anaAnswer.room)).sessions, b).map((s) => s.publishes ?? 'watching').sort(),
    ['camera', 'watching'],
    'the screen session is closed',
  );
  // The browser's own "Stop sharing" (the track ends) stops it too.
  await bo.evaluate(async () => {
    window.__screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    await window.__call.shareScreen(window.__screen.getVideoTracks()[0]);
  });
  const screens = async (event) =>
    (await eventsOf(ana)).filter((e) => e.event === event && e.identity === b && e.kind === 'screen').length;
  await until('the second screen shown', async () => (await screens('track')) === 2, 60000);
  await bo.evaluate(() => window.__screen.getVideoTracks()[0].dispatchEvent(new Event('ended')));
  await until('the second screen taken back', async () => (await screens('gone')) === 2);

  // Bo leaves: everything of Bo's is closed, and Ana sees it within 2 s.
  const leftAt = await bo.evaluate(() => {
    window.__call.leave();
    return Date.now();
  });
  const left = await waitForEvent(ana, { event: 'left', identity: b }, 5000);
  assert.ok(left.at - leftAt < 2000, `Ana saw Bo leave after ${left.at - leftAt} ms`);
  for (const kind of ['camera', 'mic']) await waitForEvent(ana, { event: 'gone', identity: b, kind });
  await until('Bo\'s peer connections closed', async () => (await openPeerConnections(bo)) === 0, 5000);
  await until('nothing of Bo\'s on the relay', async () => {
    const { participants, sessions } = await roomState(anaAnswer.room);
    return !participants.includes(b) && sessions.every((s) => s.identity !== b && s.watching === null);
  });
  assert.equal(await openPeerConnections(ana), 1, 'Ana keeps her camera session only');
  // Leaving is not reported back to the one who left; nobody's call ended by itself.
  for (const page of [ana, bo]) {
    assert.deepEqual((await eventsOf(page)).filter((e) => e.event === 'state').map((e) => e.state), ['connected']);
  }
  // Her own tracks are the page's: leaving did not stop them.
  assert.deepEqual(await bo.evaluate(() => window.__local.getTracks().map((t) => t.readyState)), ['live', 'live']);

  await ana.evaluate(() => window.__call.leave());
  await until('the room empty on the relay', async () => (await roomState(anaAnswer.room)).sessions.length === 0);
  for (const page of [ana, bo]) {
    assert.deepEqual(page.consoleErrors, []);
    await page.close();
  }
});

test('a WHEP session that is refused or never answered is closed, leaves nothing behind, and is tried again until it works', async () => {
  const created = await createMeeting(stack);
  const ana = await openAdapterPage(browser, stack);
  const anaAnswer = await meetingToken(stack, created.invite, 'Ana');
  assert.deepEqual(await join(ana, anaAnswer), { joined: true });

  // Bo's page: the first offer to watch Ana is refused, the second never answered.
  const faults = ['refuse', 'silent'];
  const offers = [];
  const bo = await openAdapterPage(browser, stack, (page) =>
    page.route('**/media/whep/**', async (route) => {
      const fault = faults.shift() ?? 'through';
      offers.push({ fault, url: route.request().url() });
      if (fault === 'refuse') {
        await route.fulfill({
          status: 503,
          contentType: 'application/json',
          body: JSON.stringify({ code: 20500, message: 'the relay has stopped', status: 503 }),
        });
      } else if (fault === 'through') {
        await route.continue();
      } // 'silent': never answered, the adapter gives up by itself
    }),
  );
  const boAnswer = await meetingToken(stack, created.invite, 'Bo');
  const b = boAnswer.identity;
  assert.deepEqual(await join(bo, boAnswer), { joined: true }, 'a remote failure does not fail the call');
  await waitForEvent(bo, { event: 'participant', identity: anaAnswer.identity, local: false });

  // While the offers fail: Bo has his camera session only, and nothing of Bo watches on the relay.
  await until('the refused offer', () => offers.length >= 1);
  assert.equal(new URL(offers[0].url).searchParams.get('publisher'), anaAnswer.identity);
  await until('the refused session closed', async () => (await openPeerConnections(bo)) === 1, 5000);
  await until('the unanswered offer', () => offers.length >= 2, 10000);
  assert.equal(offers[1].fault, 'silent');
  const { sessions } = await roomState(anaAnswer.room);
  assert.deepEqual(sessionsOf(sessions, b).map((s) => s.role), ['publisher']);
  assert.equal((await eventsOf(bo)).filter((e) => e.event === 'track').length, 0, 'no track from a failed session');

  // The unanswered offer is given up after the adapter's limit (10 s), then tried again.
  await until('a third offer, let through', () => offers.length >= 3, 60000);
  await decodes(bo, anaAnswer.identity, 'camera');
  await decodes(bo, anaAnswer.identity, 'mic');
  assert.equal(await openPeerConnections(bo), 2);
  // Ana was never affected, and sees Bo.
  await decodes(ana, b, 'camera');
  assert.deepEqual(
    (await eventsOf(bo)).filter((e) => e.event === 'state').map((e) => e.state),
    ['connected'],
    'connected once; a remote session failing is not a state of the call',
  );

  await Promise.all([ana.evaluate(() => window.__call.leave()), bo.evaluate(() => window.__call.leave())]);
  await until('the room empty on the relay', async () => (await roomState(anaAnswer.room)).sessions.length === 0);
  await Promise.all([ana.close(), bo.close()]);
});

test("leaving DELETEs every session at once, not after the camera session's answer (a closing tab waits for none)", async () => {
  const created = await createMeeting(stack);
  const ana = await openAdapterPage(browser, stack);
  const bo = await openAdapterPage(browser, stack);
  const anaAnswer = await meetingToken(stack, created.invite, 'Ana');
  const boAnswer = await meetingToken(stack, created.invite, 'Bo');
  const [a, b] = [anaAnswer.identity, boAnswer.identity];
  assert.deepEqual(await join(ana, anaAnswer), { joined: true });
  assert.deepEqual(await join(bo, boAnswer), { joined: true });
  await decodes(bo, a, 'camera');
  const mine = sessionsOf((await roomState(boAnswer.room)).sessions, b);
  const camera = mine.find((s) => s.publishes !== null);
  assert.ok(camera && mine.some((s) => s.watching !== null), JSON.stringify(mine));

  // The camera session's DELETE is never answered, as for a tab that is closing: Bo's view of
  // Ana must still be left on the relay straight away.
  await bo.route(`**/media/sessions/${camera.id}`, (route) => {
    if (route.request().method() !== 'DELETE') return route.continue();
    return undefined; // held: no answer
  });
  await bo.evaluate(() => {
    window.__call.leave();
  });
  await until(
    "Bo's WHEP session left on the relay",
    async () => sessionsOf((await roomState(boAnswer.room)).sessions, b).every((s) => s.watching === null),
    1500,
  );

  await bo.close();
  await ana.evaluate(() => window.__call.leave());
  await until('the room empty on the relay', async () => (await roomState(anaAnswer.room)).sessions.length === 0, 15000);
  assert.deepEqual(ana.consoleErrors, []);
  await ana.close();
});

test('a refused camera session rejects joinMeeting with a readable message and leaves nothing open', async () => {
  const created = await createMeeting(stack);
  const statusPolls = [];
  const page = await openAdapterPage(browser, stack, (p) => {
    p.on('request', (r) => r.url().includes('/media/rooms/') && statusPolls.push(r.url()));
    return p.route('**/media/whip/**', (route) =>
      route.fulfill({
        status: 409,
        contentType: 'application/json',
        body: JSON.stringify({ code: 53105, message: 'Room contains too many Participants', status: 409 }),
      }),
    );
  });
  const answer = await meetingToken(stack, created.invite, 'Cy');
  const result = await join(page, answer);
  assert.equal(result.joined, false);
  assert.match(result.message, /refused the connection \(error 409\)/);
  assert.equal(result.code, 53105, 'Twilio\'s code for a full room, as on the Twilio path');
  assert.equal(await openPeerConnections(page), 0);
  assert.deepEqual((await eventsOf(page)).map((e) => e.event), [], 'no callback for a call that never started');
  assert.deepEqual((await roomState(answer.room)).sessions, []);
  // The room's status is polled only once the camera session is up.
  assert.deepEqual(statusPolls, []);
  await page.close();
});
