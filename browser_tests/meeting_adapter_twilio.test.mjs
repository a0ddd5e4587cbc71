// The meeting adapter on the Twilio path (static/js/meeting/twilio.js) in real Chromium, with
// the real vendored SDK and `Twilio.Video.connect` replaced by a double at the SDK boundary
// (Twilio cannot be reached from tests), as twilio_path.test.mjs does for streams. The double's
// room is driven from the test: participants arrive with tracks (real MediaStreamTracks from a
// canvas and an oscillator), mute, speak, share, reconnect, leave, and the room ends or drops.
// The back end is the real one against the stand-in (MEDIA_PATH=twilio).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import { FAKE_TRACK, launch } from './browser.mjs';
import { until } from './pages.mjs';
import { createMeeting, eventsOf, join, meetingToken, openAdapterPage, waitForEvent } from './meeting_adapter_page.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ name: 'meeting-adapter-twilio', env: { MEDIA_PATH: 'twilio' } });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

// Appended to the vendored SDK as the page loads it. `window.__twilio` records what the adapter
// asked of the SDK and lets the test play the room's side. `fakeTrack` is browser.mjs's
// FAKE_TRACK.
const DOUBLE = (fakeTrack) => {
  const Video = window.Twilio.Video;
  const twilio = (window.__twilio = { connects: [], rooms: [], present: [], refuse: null, tracks: new Map() });
  const emitter = (target) => {
    const handlers = {};
    target.on = (event, handler) => {
      (handlers[event] ??= []).push(handler);
      return target;
    };
    target.emit = (event, ...args) => (handlers[event] ?? []).forEach((handler) => handler(...args));
    return target;
  };
  const identityOf = (token) =>
    JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).grants.identity;
  // A remote participant's subscribed track and its publication; the track records what the
  // adapter asked of it.
  const publish = (participant, kind, enabled = true) => {
    const mediaStreamTrack = fakeTrack(kind === 'mic' ? 'audio' : 'video');
    const track = {
      kind: kind === 'mic' ? 'audio' : 'video',
      name: kind,
      mediaStreamTrack,
      switchOns: 0,
      preferences: [],
      switchOn() {
        this.switchOns += 1;
      },
      setContentPreferences(preferences) {
        this.preferences.push(preferences);
      },
    };
    const publication = { trackName: kind, kind: track.kind, isTrackEnabled: enabled, track };
    participant.tracks.set(kind, publication);
    if (track.kind === 'video') participant.videoTracks.set(kind, publication);
    twilio.tracks.set(`${participant.identity}/${kind}`, track);
    return publication;
  };
  const participant = (identity) => ({ identity, tracks: new Map(), videoTracks: new Map() });
  const room = () => twilio.rooms.at(-1);

  Video.connect = async (token, { tracks = [], ...options }) => {
    twilio.connects.push({
      token,
      options: JSON.parse(JSON.stringify(options)),
      tracks: tracks.map((t) => ({
        sdkTrack: t instanceof Video.LocalVideoTrack || t instanceof Video.LocalAudioTrack,
        kind: t.kind,
        name: t.name,
        id: t.mediaStreamTrack.id,
      })),
    });
    if (twilio.refuse) throw Object.assign(new Error(twilio.refuse.message), { code: twilio.refuse.code });
    const connected = emitter({
      name: options.name,
      participants: new Map(),
      dominantSpeaker: null,
      disconnects: 0,
      published: [],
      unpublished: [],
      localParticipant: {
        identity: identityOf(token),
        async publishTrack(track, publishOptions) {
          connected.published.push({ name: track.name, kind: track.kind, priority: publishOptions?.priority, id: track.mediaStreamTrack.id });
          return { trackName: track.name };
        },
        unpublishTrack(track) {
          connected.unpublished.push({ name: track.name, id: track.mediaStreamTrack.id });
        },
      },
      disconnect() {
        connected.disconnects += 1;
        connected.emit('disconnected', connected);
      },
    });
    // Who is in the room already, with their tracks subscribed.
    for (const { identity, kinds, disabled = [] } of twilio.present) {
      const p = participant(identity);
      for (const kind of kinds) publish(p, kind, !disabled.includes(kind));
      connected.participants.set(identity, p);
    }
    twilio.rooms.push(connected);
    return connected;
  };

  // The room's side, for the test.
  twilio.arrive = (identity) => {
    const p = participant(identity);
    room().participants.set(identity, p);
    room().emit('participantConnected', p);
  };
  twilio.subscribe = (identity, kind) => {
    const p = room().participants.get(identity);
    const publication = publish(p, kind);
    room().emit('trackSubscribed', publication.track, publication, p);
  };
  twilio.setEnabled = (identity, kind, enabled) => {
    const p = room().participants.get(identity);
    const publication = p.tracks.get(kind);
    publication.isTrackEnabled = enabled;
    room().emit(enabled ? 'trackEnabled' : 'trackDisabled', publication, p);
  };
  twilio.speaker = (identity) => room().emit('dominantSpeakerChanged', identity ? room().participants.get(identity) : null);
  twilio.depart = (identity) => {
    const p = room().participants.get(identity);
    room().participants.delete(identity);
    room().emit('participantDisconnected', p);
  };
  twilio.emit = (event, ...args) => room().emit(event, ...args);
  twilio.preferences = (identity, kind) => {
    const track = twilio.tracks.get(`${identity}/${kind}`);
    return { switchOns: track.switchOns, preferences: track.preferences };
  };
  // Whether the page shows exactly the double's track for identity/kind.
  twilio.shows = (identity, kind) =>
    window.__media.get(`${identity}/${kind}`)?.track === twilio.tracks.get(`${identity}/${kind}`)?.mediaStreamTrack;
};

// A bare page whose SDK carries the double; `setUp` (JavaScript) runs after it, as the SDK loads
// on the first join.
async function pageWithDouble(setUp = '') {
  return openAdapterPage(browser, stack, (page) =>
    page.route('**/vendor/twilio-video.min.js', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, body: `${await response.text()}\n;(${DOUBLE})(${FAKE_TRACK});\n${setUp}` });
    }),
  );
}

// The double's room state the test reads.
const roomOf = (page) =>
  page.evaluate(() => {
    const { disconnects, published, unpublished } = window.__twilio.rooms.at(-1);
    return { disconnects, published, unpublished };
  });
const twilio = (page, method, ...args) => page.evaluate(([m, a]) => window.__twilio[m](...a), [method, args]);

const BO = '0000000a.Bo';
const CY = '0000000b.Cy';

test('joinMeeting on Twilio Video: a bandwidth profile for a grid (collaboration), everyone’s tracks at tile size, mute, dominant speaker, screen, leave', async () => {
  const created = await createMeeting(stack);
  const answer = await meetingToken(stack, created.invite, 'Ana');
  assert.deepEqual(answer.media, { kind: 'twilio' });
  // Bo is in the room already, his microphone muted.
  const bo = { identity: BO, kinds: ['camera', 'mic'], disabled: ['mic'] };
  const page = await pageWithDouble(`window.__twilio.present.push(${JSON.stringify(bo)});`);
  assert.deepEqual(await join(page, answer), { joined: true });

  const [connect] = await page.evaluate(() => window.__twilio.connects);
  assert.equal(connect.token, answer.token);
  assert.equal(connect.options.name, answer.room);
  assert.equal(connect.options.automaticSubscription, true);
  assert.equal(connect.options.dominantSpeaker, true);
  assert.deepEqual(connect.options.bandwidthProfile, {
    video: {
      mode: 'collaboration',
      dominantSpeakerPriority: 'high',
      clientTrackSwitchOffControl: 'manual',
      contentPreferencesMode: 'manual',
    },
  });
  const localIds = await page.evaluate(() => window.__local.getTracks().map((t) => [t.kind, t.id]));
  assert.deepEqual(
    connect.tracks,
    [
      { sdkTrack: true, kind: 'video', name: 'camera', id: localIds.find(([k]) => k === 'video')[1] },
      { sdkTrack: true, kind: 'audio', name: 'mic', id: localIds.find(([k]) => k === 'audio')[1] },
    ],
    'the page’s own camera and microphone, named',
  );

  // Ana herself, then Bo who was there, with his tracks and his muted microphone.
  const events = await eventsOf(page);
  assert.deepEqual(
    events.filter((e) => e.event === 'participant').map(({ identity, name, local }) => [identity, name, local]),
    [
      [answer.identity, 'Ana', true],
      [BO, 'Bo', false],
    ],
  );
  await waitForEvent(page, { event: 'track', identity: BO, kind: 'camera', trackKind: 'video' });
  await waitForEvent(page, { event: 'track', identity: BO, kind: 'mic', trackKind: 'audio' });
  await waitForEvent(page, { event: 'muted', identity: BO, kind: 'mic', muted: true });
  await waitForEvent(page, { event: 'muted', identity: BO, kind: 'camera', muted: false });
  assert.equal(await twilio(page, 'shows', BO, 'camera'), true);
  assert.equal(await twilio(page, 'shows', BO, 'mic'), true);
  // Every camera switched on, asked at the size of a tile in a grid of 2 (two columns of 1280).
  assert.deepEqual(await twilio(page, 'preferences', BO, 'camera'), {
    switchOns: 1,
    preferences: [{ renderDimensions: { width: 640, height: 360 } }],
  });

  // Cy arrives, then two more: the cameras shrink to a tile of a grid of 5 (three columns).
  await twilio(page, 'arrive', CY);
  await waitForEvent(page, { event: 'participant', identity: CY, name: 'Cy', local: false });
  await twilio(page, 'subscribe', CY, 'camera');
  await waitForEvent(page, { event: 'track', identity: CY, kind: 'camera' });
  await twilio(page, 'arrive', '0000000c.Dee');
  await twilio(page, 'arrive', '0000000d.Eve');
  const tile5 = { renderDimensions: { width: 427, height: 240 } };
  assert.deepEqual((await twilio(page, 'preferences', BO, 'camera')).preferences.at(-1), tile5);
  assert.deepEqual((await twilio(page, 'preferences', CY, 'camera')).preferences.at(-1), tile5);

  // Cy shares a screen: its own track, asked at full size, never "muted".
  await twilio(page, 'subscribe', CY, 'screen');
  await waitForEvent(page, { event: 'track', identity: CY, kind: 'screen', trackKind: 'video' });
  assert.deepEqual(await twilio(page, 'preferences', CY, 'screen'), {
    switchOns: 1,
    preferences: [{ renderDimensions: { width: 1920, height: 1080 } }],
  });
  assert.equal(await twilio(page, 'shows', CY, 'screen'), true);

  // Mute and unmute from the others; the dominant speaker; reconnecting.
  await twilio(page, 'setEnabled', BO, 'camera', false);
  await waitForEvent(page, { event: 'muted', identity: BO, kind: 'camera', muted: true });
  await twilio(page, 'setEnabled', BO, 'mic', true);
  await waitForEvent(page, { event: 'muted', identity: BO, kind: 'mic', muted: false });
  await twilio(page, 'speaker', CY);
  await waitForEvent(page, { event: 'speaker', identity: CY });
  await twilio(page, 'speaker', null);
  await waitForEvent(page, { event: 'speaker', identity: null });
  await twilio(page, 'emit', 'reconnecting');
  await waitForEvent(page, { event: 'state', state: 'reconnecting' });
  await twilio(page, 'emit', 'reconnected');
  await until('connected again after reconnecting', async () =>
    (await eventsOf(page)).filter((e) => e.event === 'state').map((e) => e.state).join() === 'connected,reconnecting,connected',
  );

  // Ana's own mute disables her track (the SDK tells the others).
  await page.evaluate(() => window.__call.setMicEnabled(false));
  assert.equal(await page.evaluate(() => window.__local.getAudioTracks()[0].enabled), false);
  await page.evaluate(() => window.__call.setMicEnabled(true));
  assert.equal(await page.evaluate(() => window.__local.getAudioTracks()[0].enabled), true);

  // Ana shares her screen at high priority; stopping, and the browser's "Stop sharing", unpublish it.
  const screenId = await page.evaluate(async () => {
    window.__screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    await window.__call.shareScreen(window.__screen.getVideoTracks()[0]);
    return window.__screen.getVideoTracks()[0].id;
  });
  assert.deepEqual((await roomOf(page)).published, [{ name: 'screen', kind: 'video', priority: 'high', id: screenId }]);
  await page.evaluate(() => window.__call.stopScreen());
  assert.deepEqual((await roomOf(page)).unpublished, [{ name: 'screen', id: screenId }]);
  await page.evaluate(async () => window.__call.shareScreen(window.__screen.getVideoTracks()[0]));
  await page.evaluate(() => window.__screen.getVideoTracks()[0].dispatchEvent(new Event('ended')));
  assert.equal((await roomOf(page)).unpublished.length, 2);

  // Cy leaves: each of Cy's tracks is taken back, then Cy.
  await twilio(page, 'depart', CY);
  await waitForEvent(page, { event: 'left', identity: CY });
  const afterCy = (await eventsOf(page)).filter((e) => e.identity === CY && (e.event === 'gone' || e.event === 'left'));
  assert.deepEqual(afterCy.map((e) => [e.event, e.kind]).sort(), [['gone', 'camera'], ['gone', 'screen'], ['left', undefined]]);
  assert.equal(afterCy.at(-1).event, 'left');

  // Leave disconnects once and is not reported back; the page's tracks are its own.
  await page.evaluate(() => window.__call.leave());
  assert.equal((await roomOf(page)).disconnects, 1);
  assert.equal((await eventsOf(page)).filter((e) => e.state === 'ended').length, 0);
  assert.deepEqual(await page.evaluate(() => window.__local.getTracks().map((t) => t.readyState)), ['live', 'live']);
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('the room completing ends the call as "ended", a dropped connection as "lost", and a refused connect rejects with Twilio’s code', async () => {
  const created = await createMeeting(stack);
  for (const [code, reason] of [
    [53118, 'ended'],
    [53001, 'lost'],
  ]) {
    const page = await pageWithDouble();
    const answer = await meetingToken(stack, created.invite, 'Ana');
    assert.deepEqual(await join(page, answer), { joined: true });
    await page.evaluate((c) => {
      const room = window.__twilio.rooms.at(-1);
      room.emit('disconnected', room, Object.assign(new Error('disconnected'), { code: c }));
    }, code);
    await waitForEvent(page, { event: 'state', state: 'ended', reason });
    // Ended once; leave() afterwards is harmless and says nothing more.
    await page.evaluate(() => window.__call.leave());
    assert.equal((await eventsOf(page)).filter((e) => e.state === 'ended').length, 1);
    await page.close();
  }

  // A full room: the connect is refused.
  const refusal = { code: 53105, message: 'Room contains too many Participants' };
  const page = await pageWithDouble(`window.__twilio.refuse = ${JSON.stringify(refusal)};`);
  const answer = await meetingToken(stack, created.invite, 'Ana');
  assert.deepEqual(await join(page, answer), {
    joined: false,
    code: 53105,
    message: 'Room contains too many Participants',
  });
  assert.deepEqual(await eventsOf(page), [], 'no callback for a call that never started');
  assert.deepEqual(await page.evaluate(() => window.__local.getTracks().map((t) => t.readyState)), ['live', 'live']);
  await page.close();
});
