// The host page, in the order a host goes through it: sign in (the password checked before
// anything else), name the stream, the studio (its room opened at once so viewers can wait in
// it; the audience link; microphone and webcam), Go live (the screen picker straight from the
// click), on air (time, viewers, mute, another screen, the corner of the webcam), and after a
// stop back to the studio with the next room already open. Every way out of a live stream
// (the button, the browser's "Stop sharing", closing the tab) reaches stream_stop.
import { ApiError } from './api.js';
import { pageState } from './page-state.js';
import { audienceLink } from './stream-name.js';
import { clock, counted, isoDuration } from './format.js';
import { movableCorner } from './overlay-corner.js';
import { forgetSession, storedSession, wireSignIn } from './host/signin.js';
import { wireNaming } from './host/naming.js';
import { wireShareLink } from './host/share-link.js';
import { createDevices } from './host/devices.js';
import { createStudio } from './host/studio.js';
import { Broadcast, captureProblem, pickScreen } from './host/on-air.js';

const $ = (id) => document.getElementById(id);
const page = pageState($('status'));
const problem = $('problem');

const explain = (text) => {
  problem.textContent = text;
  problem.hidden = !text;
};

let session = storedSession(); // { session, expires_at }
let stream = null; // the stream's name, once chosen
let broadcast = null; // while live
let busy = false;

const devices = createDevices({
  micSelect: $('mic-select'),
  cameraSelect: $('camera-select'),
  cameraNote: $('camera-note'),
  meterElement: $('mic-level'),
  cameraPreview: $('camera-preview'),
  cameraOverlay: $('camera-overlay'),
  note: $('device-note'),
});
const shareLink = wireShareLink({ input: $('audience-link'), copy: $('copy-link'), share: $('share-link'), note: $('copy-note') });
const studio = createStudio({
  onViewers: (n) => showViewers(n),
  onRoomGone: (status) => roomGone(status),
});
movableCorner($('camera-overlay'), $('camera-corner'), 'onair.host.corner');

function showViewers(n) {
  $('viewers').textContent = counted(n, 'viewer');
  $('waiting-viewers').textContent = n === 0 ? 'nobody yet' : counted(n, 'person', 'people');
}

// --- Sign in, name --------------------------------------------------------------------------

function toSignIn(why = '') {
  session = null;
  forgetSession();
  studio.forget();
  devices.close();
  page.set('signin', 'Offline');
  explain(why);
  $('password').focus();
}

function toNaming(why = '') {
  studio.forget();
  devices.close();
  page.set('name', 'Offline');
  explain(why);
  $('stream-title').focus();
}

wireSignIn({
  form: $('signin-form'),
  password: $('password'),
  button: $('sign-in'),
  lockout: $('lockout'),
  explain,
  onSignedIn: (signedIn) => {
    session = signedIn;
    toNaming();
  },
});

wireNaming({
  form: $('name-form'),
  input: $('stream-title'),
  slug: $('stream-slug'),
  onName: (name) => openStudio(name),
});

$('sign-out').addEventListener('click', () => {
  studio.closeWithPage();
  toSignIn();
});
$('rename').addEventListener('click', () => {
  studio.closeWithPage();
  toNaming();
});

// What the mode allows, from host_token's answer: in ivs mode (Amazon IVS real-time) the stream
// carries one picture (IVS WHIP takes one video track), so the webcam is off and says why, and
// IVS gives no audience count, so none is shown.
function applyMode(login) {
  const ivs = login.mode === 'ivs';
  $('viewers').hidden = ivs;
  $('waiting-line').hidden = ivs;
  return devices.allowCamera(!ivs);
}

// The audience link host_token gives (a path on this origin), as a full address to send.
const linkOf = (login, name) => (login.audience_url ? new URL(login.audience_url, location.origin).href : audienceLink(name));

// --- The studio -----------------------------------------------------------------------------

// Opens the studio of `name` (a new room); `said` stays on the status line (e.g. "Stream ended").
async function openStudio(name, said = 'Offline') {
  if (busy) return;
  busy = true;
  stream = name;
  $('stream-label').textContent = name;
  document.title = `${name} — OnAir studio`;
  page.set('studio', 'Opening the studio…');
  $('go-live').disabled = true;
  try {
    const [login] = await Promise.all([studio.open(session.session, name), devices.open()]);
    // The webcam opens only now, once the mode says whether it is allowed.
    await applyMode(login);
    shareLink.set(linkOf(login, name));
    showViewers(0);
    page.say(said);
    if (said === 'Offline') explain('');
  } catch (error) {
    studioFailed(error, name);
  } finally {
    busy = false;
    $('go-live').disabled = false;
  }
}

function studioFailed(error, name) {
  if (error.status === 401) toSignIn('Your sign-in has expired. Sign in again.');
  else if (error.status === 409) toNaming(`“${name}” is live from another studio right now. Choose another name.`);
  else toNaming(`The studio could not open: ${error.message}`);
}

// The studio's room is no longer the stream's: closed after a while without going live (then a
// new one opens), or replaced by another studio of the same name (the last one opened wins;
// Go live takes it back).
function roomGone(status) {
  if (broadcast || busy || page.current !== 'studio') return;
  studio.forget();
  if (status.state === 'offline') {
    openStudio(stream, $('status').textContent);
  } else {
    explain(`Another studio opened “${stream}”. Go live takes it back.`);
  }
}

// --- Going live and on air ------------------------------------------------------------------

let clockTimer = null;
const onBeforeUnload = (event) => {
  event.preventDefault();
  event.returnValue = '';
};

function showLive(live) {
  const preview = $('preview');
  devices.lock(live);
  $('stage').classList.toggle('has-picture', live);
  clearInterval(clockTimer);
  if (live) {
    preview.srcObject = new MediaStream([broadcast.screen]);
    const tick = () => {
      const ms = Date.now() - broadcast.startedAt;
      $('on-air-time').textContent = clock(ms);
      $('on-air-time').setAttribute('datetime', isoDuration(ms));
    };
    tick();
    clockTimer = setInterval(tick, 1000);
    $('mute').hidden = !broadcast.mic;
    $('mute').setAttribute('aria-pressed', 'false');
    // Only while live: the warning costs the page the browser's back/forward cache.
    window.addEventListener('beforeunload', onBeforeUnload);
  } else {
    preview.srcObject = null;
    window.removeEventListener('beforeunload', onBeforeUnload);
  }
}

$('go-live').addEventListener('click', async () => {
  if (busy || broadcast) return;
  explain('');
  if (!navigator.mediaDevices?.getDisplayMedia) {
    explain('This browser cannot share a screen. Use a recent Chrome, Edge, Firefox or Safari on a computer.');
    return;
  }
  busy = true;
  let screen;
  try {
    // First thing in the click handler: the browser requires the user's gesture for this.
    screen = await pickScreen();
  } catch (error) {
    busy = false;
    const text = captureProblem(error);
    if (text) explain(text);
    return;
  }
  page.say('Connecting…');
  $('go-live').setAttribute('aria-busy', 'true');
  try {
    // The studio's room went away meanwhile: a new one first.
    const login = studio.login ?? (await studio.open(session.session, stream));
    await applyMode(login);
    shareLink.set(linkOf(login, stream));
    broadcast = new Broadcast({
      login,
      screen,
      mic: devices.tracks.mic,
      camera: devices.tracks.camera,
      onState: (state) => {
        if (broadcast && page.current === 'live') page.say(state === 'reconnecting' ? 'Reconnecting…' : 'You are live');
      },
      onViewers: showViewers,
      onEnded: (how) => stop(ENDED_BECAUSE[how]),
    });
    await broadcast.start();
  } catch (error) {
    broadcast = null;
    screen.stop();
    busy = false;
    $('go-live').removeAttribute('aria-busy');
    studio.forget();
    if (error instanceof ApiError && error.status === 401) return toSignIn('Your sign-in has expired. Sign in again.');
    page.say('Offline');
    explain(
      error instanceof ApiError && error.status === 409
        ? `Someone else went live as “${stream}” first. Stop them, or choose another name.`
        : `The stream could not start: ${error.message}`,
    );
    // The room was ended by the failed start: the next one, so viewers can wait again.
    return reopenAfterFailure();
  }
  busy = false;
  $('go-live').removeAttribute('aria-busy');
  page.set('live', 'You are live');
  showLive(true);
  const notes = [];
  if (!broadcast.mic) notes.push('You are live without sound (no microphone).');
  explain(notes.join(' '));
  $('stop').focus();
});

async function reopenAfterFailure() {
  const why = problem.textContent;
  await openStudio(stream, 'Offline');
  if (page.current === 'studio') explain(why);
}

const ENDED_BECAUSE = {
  'stopped sharing': '',
  ended: 'The stream was ended by the video service.',
  lost: 'The connection to the video service was lost.',
};

// Ends the stream (the button, "Stop sharing", or the stream ending by itself with `why`), then
// opens the studio's next room.
async function stop(why = '') {
  if (!broadcast) return;
  const ending = broadcast;
  broadcast = null;
  busy = true;
  showLive(false);
  studio.forget();
  page.say('Stopping…');
  try {
    await ending.stop();
  } catch (error) {
    why = `${why} The stream may still be running: ${error.message}. It ends by itself within minutes.`.trim();
  }
  busy = false;
  await openStudio(stream, 'Stream ended');
  if (page.current !== 'studio') return;
  explain(why);
  $('go-live').focus();
}

$('stop').addEventListener('click', () => stop());

$('mute').addEventListener('click', () => {
  if (!broadcast) return;
  $('mute').setAttribute('aria-pressed', String(broadcast.toggleMute()));
});

$('share-another').addEventListener('click', async () => {
  if (!broadcast) return;
  let track;
  try {
    track = await pickScreen();
  } catch (error) {
    const text = captureProblem(error);
    if (text) explain(text);
    return;
  }
  if (!broadcast) return track.stop();
  try {
    await broadcast.replaceScreen(track);
    $('preview').srcObject = new MediaStream([track]);
    explain('');
  } catch (error) {
    track.stop();
    explain(`The other screen could not be shared: ${error.message}`);
  }
});

// Closing or reloading the tab: while live the beacon reaches stream_stop as the page goes away;
// in the studio the waiting room is ended too.
window.addEventListener('pagehide', () => {
  if (broadcast) {
    broadcast.closeWithPage();
    broadcast = null;
  } else {
    studio.closeWithPage();
  }
});

if (session) toNaming();
else toSignIn();
