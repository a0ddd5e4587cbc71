// The meeting page: the invite from the address's fragment, then the preview (name, camera,
// microphone, devices), then the call (tiles, pin, screen share, toggles, the number of people),
// then the end (left, lost, refused) with a way back in. Opened without an invite, it lets the
// host start a meeting (meet/start.js) and join it. Media goes through the meeting adapter
// (joinMeeting, one interface for Twilio and the local relay); this file only says what the page
// shows. Whatever ends a call (Leave, the connection lost, closing the tab) takes one path, end(),
// which leaves the meeting and stops every local track.
import * as api from './api.js';
import { joinMeeting } from './meeting/index.js';
import { forgetInvite, inviteUrl, keepInvite, takeInvite } from './meet/invite.js';
import { parseName, rememberName, rememberedName } from './meet/name.js';
import { createPrejoin, setToggle } from './meet/prejoin.js';
import { createStart } from './meet/start.js';
import { createStatus } from './meet/status.js';
import { createTiles } from './meet/tiles.js';
import { speakingWatcher } from './meet/levels.js';

const $ = (id) => document.getElementById(id);
const views = { start: $('start'), prejoin: $('prejoin'), call: $('call'), ended: $('ended') };
const nameInput = $('name');
const joinButton = $('join');
const joinProblem = $('join-problem');
const buttons = { mic: $('mic'), cam: $('cam'), share: $('share'), copy: $('copy-invite'), leave: $('leave') };

const status = createStatus($('status'));
const prejoin = createPrejoin({
  video: $('preview-video'),
  note: $('preview-note'),
  micToggle: $('preview-mic'),
  camToggle: $('preview-cam'),
  cameraSelect: $('camera-select'),
  micSelect: $('mic-select'),
  meterBar: $('mic-level'),
  onProblem: (text) => {
    $('device-problem').textContent = text;
    $('device-problem').hidden = !text;
  },
});
const tiles = createTiles({
  container: $('tiles'),
  stage: $('stage'),
  grid: $('grid'),
  audioBox: $('audio'),
});

let invite = takeInvite();
// The call in progress: { call, me, tracks, micOn, cameraOn, screen } (call is null while joining).
let session = null;
let busy = false;

function show(view) {
  for (const [name, el] of Object.entries(views)) el.hidden = name !== view;
  document.body.classList.toggle('in-call', view === 'call');
  $('people-box').hidden = view !== 'call';
}

function explain(text) {
  joinProblem.textContent = text;
  joinProblem.hidden = !text;
}

// A problem with the name, under the field (its description); the field gets the focus.
function fieldProblem(text) {
  const problem = $('name-problem');
  nameInput.setAttribute('aria-invalid', String(!!text));
  problem.textContent = text;
  problem.hidden = !text;
  if (text) {
    explain('');
    nameInput.focus();
  }
}

const showPeople = () => {
  const n = tiles.count;
  $('people').textContent = `${n} ${n === 1 ? 'person' : 'people'}`;
};

// What a refused meeting_token means to a person; `refused` when the invite itself is the problem
// (no retry helps), `name` when the name is.
function tokenProblem(error) {
  if (error.status === 401) {
    return {
      refused: true,
      text: error.message || 'This invite link has expired or is not valid. Ask the host for a new one.',
    };
  }
  if (error.status === 409) return { text: 'This meeting is full. Try again when someone has left.' };
  if (error.status === 400) return { name: true, text: error.message || 'That name cannot be used.' };
  if (error.status === 429) return { text: 'Too many attempts. Wait a minute and try again.' };
  return { text: `You could not join: ${error.message}` };
}

// The end of a meeting for this page: `title` and `detail` in words, and whether Rejoin is offered.
function showEnded(title, detail, { rejoin }) {
  $('ended-title').textContent = title;
  $('ended-detail').textContent = detail;
  $('rejoin').hidden = !rejoin;
  show('ended');
  $('ended-title').focus();
}

function refuse(detail) {
  forgetInvite();
  prejoin.release();
  status.clear();
  showEnded("You can't join this meeting", detail, { rejoin: false });
}

// Joins with the name typed and the preview's tracks; resolves to whether the call is on.
// `retrying`: a lost call's attempt, after which a failure leaves the preview closed.
async function join({ retrying = false } = {}) {
  explain('');
  const parsed = parseName(nameInput.value);
  if (parsed.problem) {
    fieldProblem(parsed.problem);
    return false;
  }
  fieldProblem('');
  rememberName(parsed.name);
  status.lasting('Joining…');
  let login;
  try {
    login = await api.meetingToken(invite, parsed.name);
  } catch (error) {
    status.clear();
    const problem = tokenProblem(error);
    if (problem.refused) refuse(problem.text);
    else if (problem.name) fieldProblem(problem.text);
    else explain(problem.text);
    return false;
  }

  const { tracks, micOn, cameraOn } = await prejoin.handOver();
  if (tracks.mic) tracks.mic.enabled = micOn;
  if (tracks.camera) tracks.camera.enabled = cameraOn;
  const me = login.identity;
  const speaking = speakingWatcher((identity, on) => tiles.setSpeaking(identity, on));
  session = { call: null, me, tracks, micOn, cameraOn, screen: null, speaking, joined: false, reconnecting: false };
  const current = session;
  tiles.addPerson({ identity: me, name: login.name ?? parsed.name, local: true });
  tiles.setVideo(me, 'camera', tracks.camera);
  tiles.setMuted(me, 'mic', !micOn);
  tiles.setMuted(me, 'camera', !cameraOn);
  if (tracks.mic) speaking.watch(me, tracks.mic);
  showPeople();

  let call;
  try {
    call = await joinMeeting({
      token: login.token,
      room: login.room,
      identity: me,
      media: login.media,
      tracks: { camera: tracks.camera, mic: tracks.mic },
      ...callEvents(current),
    });
  } catch (error) {
    if (session !== current) return; // ended while joining (the tab is closing)
    end('failed');
    show('prejoin');
    explain(
      /full|53105/.test(`${error.message} ${error.code}`)
        ? 'This meeting is full. Try again when someone has left.'
        : `You could not join: ${error.message}`,
    );
    if (!retrying) await prejoin.start(); // a rejoin by itself counts down instead
    return false;
  }
  if (session !== current) {
    call.leave(); // ended while joining
    return false;
  }
  current.call = call;
  current.joined = true;
  rejoining.joinedAt = Date.now();
  call.setMicEnabled(micOn);
  call.setCameraEnabled(cameraOn);
  status.clear();
  showCallControls();
  show('call');
  buttons.mic.focus();
  return true;
}

// What the adapter tells the page during a call, shown in the tiles, the count and the status
// line. Events of a call that already ended (a late callback) are ignored.
function callEvents(current) {
  const { me, speaking } = current;
  const ours = (fn) => (...args) => {
    if (session === current) fn(...args);
  };
  return {
    onParticipant: ours((p) => {
      if (p.local || p.identity === me) return;
      if (tiles.addPerson(p) && current.joined) status.notice(`${tiles.nameOf(p.identity)} joined`);
      showPeople();
    }),
    onParticipantLeft: ours((identity) => {
      speaking.unwatch(identity);
      const name = tiles.removePerson(identity);
      if (name) status.notice(`${name} left`);
      showPeople();
    }),
    onTrack: ours((identity, kind, track) => {
      if (identity === me) return;
      if (kind === 'mic') {
        tiles.setAudio(identity, track);
        speaking.watch(identity, track);
      } else if (tiles.setVideo(identity, kind, track)) {
        status.notice(`${tiles.nameOf(identity)} is presenting`);
      }
    }),
    onTrackGone: ours((identity, kind) => {
      if (identity === me) return;
      if (kind === 'mic') {
        tiles.setAudio(identity, null);
        speaking.unwatch(identity);
      } else tiles.setVideo(identity, kind, null);
    }),
    onMuted: ours((identity, kind, muted) => {
      if (identity !== me) tiles.setMuted(identity, kind, muted);
    }),
    // Whoever speaks stays in sight in the strip beside a pinned tile.
    onDominantSpeaker: ours((identity) => identity && tiles.reveal(identity)),
    // 'ended' with why: the meeting's room completed ('ended'), or this connection was lost.
    onState: ours((state, reason) => {
      if (state === 'reconnecting') status.lasting('Reconnecting…');
      else if (state === 'connected' && current.reconnecting) {
        status.clear();
        status.notice('Reconnected');
      } else if (state === 'ended') end(reason === 'ended' ? 'ended' : 'lost');
      current.reconnecting = state === 'reconnecting';
    }),
  };
}

function showCallControls() {
  setToggle(buttons.mic, !session.micOn);
  setToggle(buttons.cam, !session.cameraOn);
  setToggle(buttons.share, false);
  buttons.mic.disabled = !session.tracks.mic;
  buttons.cam.disabled = !session.tracks.camera;
  buttons.share.hidden = !navigator.mediaDevices?.getDisplayMedia;
}

// The one way out of a call: leaves the meeting, stops every local track, empties the tiles.
// how: 'left' (Leave), 'lost' (the connection ended), 'ended' (the meeting's room completed),
// 'failed' (joining failed), 'closed' (tab).
function end(how) {
  cancelRejoin();
  if (!session) return;
  const { call, tracks, screen, speaking, micOn, cameraOn } = session;
  session = null;
  prejoin.remember({ micOn, cameraOn }); // a rejoin comes back as the person left it
  call?.leave();
  speaking?.stop();
  for (const track of [tracks.camera, tracks.mic, screen]) track?.stop();
  tiles.clear();
  status.clear();
  if (how === 'left') showEnded('You left the meeting', 'Your camera and microphone are off.', { rejoin: true });
  if (how === 'lost') scheduleRejoin('The connection to the meeting was lost.');
  if (how === 'ended') {
    showEnded('The meeting has ended', 'It reached its time limit or was closed. Rejoin to open it again.', {
      rejoin: true,
    });
  }
}

async function stopScreen() {
  if (!session?.screen) return;
  const track = session.screen;
  session.screen = null;
  session.call?.stopScreen();
  track.stop();
  tiles.setVideo(session.me, 'screen', null);
  setToggle(buttons.share, false);
  status.notice('You stopped presenting');
}

async function shareScreen() {
  let stream;
  try {
    // First thing in the click handler: the browser requires the person's gesture for it.
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: false });
  } catch (error) {
    if (error.name !== 'NotAllowedError' || /system/i.test(error.message)) {
      status.notice('Your screen could not be shared. Check that the browser may record the screen, then try again.');
    }
    return; // a cancelled picker: nothing to say
  }
  const track = stream.getVideoTracks()[0];
  if (!session) return track.stop();
  try {
    await session.call.shareScreen(track);
  } catch (error) {
    track.stop();
    status.notice(`Your screen could not be shared: ${error.message}`);
    return;
  }
  if (!session) return track.stop();
  session.screen = track;
  track.addEventListener('ended', () => stopScreen()); // the browser's own "Stop sharing"
  tiles.setVideo(session.me, 'screen', track);
  setToggle(buttons.share, true);
  status.notice('You are presenting to everyone');
}

// Runs one handler at a time (a second press while one runs is ignored).
const once = (handler) => async (event) => {
  event?.preventDefault();
  if (busy) return;
  busy = true;
  try {
    await handler();
  } finally {
    busy = false;
  }
};

$('join-form').addEventListener(
  'submit',
  once(async () => {
    joinButton.setAttribute('aria-busy', 'true');
    try {
      await join();
    } finally {
      joinButton.removeAttribute('aria-busy');
    }
  }),
);
nameInput.addEventListener('input', () => {
  if (nameInput.getAttribute('aria-invalid') === 'true' && !parseName(nameInput.value).problem) fieldProblem('');
});

// The microphone and camera toggles: the adapter, the button and my own tile's mark.
const DEVICES = [
  { button: buttons.mic, kind: 'mic', on: 'micOn', enable: 'setMicEnabled' },
  { button: buttons.cam, kind: 'camera', on: 'cameraOn', enable: 'setCameraEnabled' },
];
for (const { button, kind, on, enable } of DEVICES) {
  button.addEventListener('click', () => {
    if (!session?.call) return;
    session[on] = !session[on];
    session.call[enable](session[on]);
    setToggle(button, !session[on]);
    tiles.setMuted(session.me, kind, !session[on]);
  });
}
buttons.share.addEventListener(
  'click',
  once(() => (session?.screen ? stopScreen() : shareScreen())),
);
buttons.copy.addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(inviteUrl(invite));
    status.notice('Invite link copied. Anyone with it can join until it expires.');
  } catch {
    status.notice('The link could not be copied: the browser refused the clipboard.');
  }
});
buttons.leave.addEventListener('click', () => end('left'));
// A lost call rejoins by itself, as a person would press Rejoin: after 2, 4, 8, 16 and then
// every 30 s, counted down on the end view with "Rejoin now" and "Don't rejoin". A call that
// stayed up for STEADY_MS starts the count again; a refused invite ends the attempts.
const REJOIN_DELAYS_S = [2, 4, 8, 16, 30];
const STEADY_MS = 30000;
const rejoining = { attempt: 0, timer: null, joinedAt: 0 };

function scheduleRejoin(why) {
  cancelRejoin();
  if (rejoining.joinedAt && Date.now() - rejoining.joinedAt > STEADY_MS) rejoining.attempt = 0;
  rejoining.joinedAt = 0;
  let left = REJOIN_DELAYS_S[Math.min(rejoining.attempt, REJOIN_DELAYS_S.length - 1)];
  rejoining.attempt += 1;
  const say = () => {
    $('ended-detail').textContent = `${why} Rejoining in ${left} s…`;
  };
  showEnded('You were disconnected', '', { rejoin: true });
  $('rejoin').textContent = 'Rejoin now';
  $('stay-out').hidden = false;
  say();
  rejoining.timer = setInterval(() => {
    left -= 1;
    if (left > 0) say();
    else rejoin({ again: true });
  }, 1000);
}

function cancelRejoin() {
  clearInterval(rejoining.timer);
  rejoining.timer = null;
  $('rejoin').textContent = 'Rejoin';
  $('stay-out').hidden = true;
}

// Back to the preview and in again. `again`: a lost call's attempt, which schedules the next one
// if this one fails too (the network still down, the meeting full).
// One at a time with the page's other actions (see once()).
async function rejoin({ again }) {
  if (busy) return;
  busy = true;
  try {
    cancelRejoin();
    show('prejoin');
    await prejoin.start();
    const joined = await join({ retrying: again });
    if (!joined && again && !views.prejoin.hidden) {
      // What went wrong, as the preview said it, then the next count.
      const why = (joinProblem.textContent || 'You could not join').replace(/\.?$/, '.');
      prejoin.release();
      scheduleRejoin(why);
    }
  } finally {
    busy = false;
  }
}
$('rejoin').addEventListener('click', () => rejoin({ again: rejoining.timer !== null }));
$('stay-out').addEventListener('click', () => {
  cancelRejoin();
  $('ended-detail').textContent = 'The connection to the meeting was lost.';
  $('rejoin').focus();
});

// Closing or leaving the tab: leave the meeting so the others see it at once.
addEventListener('pagehide', () => {
  end('closed');
  prejoin.release();
});

function showPrejoin() {
  show('prejoin');
  prejoin.start();
  (nameInput.value ? joinButton : nameInput).focus();
}

const start = createStart(
  {
    form: $('start-form'),
    password: $('host-password'),
    passwordProblem: $('host-password-problem'),
    create: $('create'),
    problem: $('start-problem'),
    created: $('created'),
    createdTitle: $('created-title'),
    link: $('invite-link'),
    expiry: $('invite-expiry'),
    copy: $('copy-link'),
    join: $('join-created'),
  },
  {
    notice: (text) => status.notice(text),
    onJoin(created) {
      invite = created;
      keepInvite(created);
      showPrejoin();
    },
  },
);

$('start-form').addEventListener('submit', once(start.create));

nameInput.value = rememberedName();
if (invite) showPrejoin();
else {
  show('start');
  start.show();
}
