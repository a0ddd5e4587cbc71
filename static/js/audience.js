// The audience page: watches one named stream (`?stream=<name>`, `main` without). While nothing
// is on, it reads the stream's status once a second (a cached GET, cheap for any crowd); as soon
// as the host opens the studio (`ready`) or is live, it joins, so when the host's media arrives
// the picture needs only a keyframe. "Live" means frames are arriving: a stall says
// "Reconnecting…" and recovers by itself, a lost connection joins again while the stream is
// still live, and only a stream that really ended says so, then the page waits for the next.
import * as api from './api.js';
import { adapterFor } from './media/index.js';
import { pageState } from './page-state.js';
import { streamFromSearch } from './stream-name.js';
import { counted } from './format.js';
import { watchFrames } from './frames.js';
import { movableCorner } from './overlay-corner.js';
import { createStage } from './audience/stage.js';
import { wireControls } from './audience/controls.js';

const $ = (id) => document.getElementById(id);

// Waiting: one status read a second (the CDN caches it for a second anyway).
const WAITING_POLL_MS = 1000;
// Watching: the status only updates the audience count and notices a host who is gone.
const WATCHING_POLL_MS = 2000;
// A room that just ended may still be named by a status or token answer cached this long.
const STALE_MS = 3000;
// No frame for this long while the stream is still live with our room: join again.
const REJOIN_AFTER_MS = 15000;
// After failed joins or an unreachable service: wait longer each time (each join on the Twilio
// path is billed), up to the last.
const BACKOFF_MS = [2000, 4000, 8000, 16000, 30000];

const SAY = {
  waiting: 'Waiting for the stream to start…',
  starting: 'Starting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  ended: 'The stream has ended. Waiting for the next one…',
  failed: 'Could not join the stream. Trying again in a few seconds…',
  unreachable: 'OnAir cannot be reached right now. Trying again in a few seconds…',
  invalid: 'This link does not name a stream.',
};

const POSTER = {
  waiting: ['Waiting for the stream to start', 'This page starts by itself when the host goes live. Sound starts muted.'],
  starting: ['Starting…', 'The host is live: the picture is on its way.'],
  ended: ['The stream has ended', 'Thanks for watching. If the host goes live again, it starts here by itself.'],
  failed: ['Could not join the stream', 'Trying again in a few seconds.'],
  unreachable: ['OnAir cannot be reached', 'Check your connection. This page keeps trying.'],
  invalid: ['This link does not name a stream', 'Stream names are lowercase letters, digits and hyphens, as in ?stream=my-talk.'],
};

const page = pageState($('status'));
const stage = createStage({ stage: $('stage'), screen: $('screen'), camera: $('camera'), overlay: $('camera-overlay') });
const controls = wireControls({
  player: $('player'),
  stage: $('stage'),
  videoOf: () => stage.video,
  mute: $('mute'),
  volume: $('volume'),
  prompt: $('unmute-prompt'),
  fullscreen: $('fullscreen'),
  pip: $('pip'),
  active: () => page.current === 'live' || page.current === 'reconnecting',
});
movableCorner($('camera-overlay'), $('camera-corner'), 'onair.audience.corner');

function show(state) {
  page.set(state, SAY[state]);
  if (POSTER[state]) {
    $('poster-title').textContent = POSTER[state][0];
    $('poster-text').textContent = POSTER[state][1];
  }
  const picture = state === 'live' || state === 'reconnecting';
  stage.picture(picture);
  if (!picture) controls.leavePictureInPicture();
  controls.refresh();
  updateViewers();
}

let audience = null;
function updateViewers(n = audience) {
  audience = n;
  const viewers = $('viewers');
  viewers.hidden = typeof n !== 'number' || page.current === 'invalid';
  const watching = page.current === 'live' || page.current === 'reconnecting';
  viewers.textContent = watching ? `${n} watching` : counted(n, 'person', 'people') + ' waiting';
}

const stream = streamFromSearch(location.search);
let watching = null; // { room, session, frames, sawFrames, stalledAt }
let ended = null; // { room, at }: the room whose end this page saw last
let failures = 0;
let timer = null;
let stopped = false;

function next(ms) {
  clearTimeout(timer);
  if (!stopped) timer = setTimeout(poll, ms);
}
const backoff = () => BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)] + Math.random() * 500;

async function poll() {
  let status;
  try {
    status = await api.streamStatus(stream);
  } catch {
    if (!watching) show(page.current === 'reconnecting' ? 'reconnecting' : 'unreachable');
    return next(backoff());
  }
  if (stopped) return;
  if (typeof status.viewers === 'number') updateViewers(status.viewers);
  if (watching) {
    judge(status);
    return next(WATCHING_POLL_MS);
  }
  const joinable = (status.state === 'ready' || status.state === 'live') && status.room;
  const justEnded = ended && ended.room === status.room && Date.now() - ended.at < STALE_MS;
  if (!joinable || justEnded) {
    // Reconnecting to a stream that is gone: it really ended.
    if (page.current === 'reconnecting' && !joinable) show('ended');
    else if (['failed', 'unreachable', 'starting'].includes(page.current)) show('waiting');
    return next(WAITING_POLL_MS);
  }
  await join();
}

// While connected: the status says whether the host is still live in our room.
function judge(status) {
  const ours = status.room === watching.room;
  if (ours && status.state === 'live' && !watching.sawFrames && page.current !== 'starting') show('starting');
  if (page.current !== 'reconnecting') return;
  if (!ours || status.state !== 'live') {
    // Frames stopped and the host is no longer live in this room: the stream is over.
    leave('ended');
  } else if (Date.now() - watching.stalledAt > REJOIN_AFTER_MS) {
    // Still live, but nothing arrives on this connection for long: a new one.
    leave('lost');
  }
}

async function join() {
  let ticket;
  try {
    ticket = await api.audienceToken(stream);
  } catch {
    show(page.current === 'reconnecting' ? 'reconnecting' : 'unreachable');
    return next(backoff());
  }
  if (!ticket.live || stopped) return next(WAITING_POLL_MS);
  stage.begin();
  let session;
  const current = { room: ticket.room, session: null, frames: null, sawFrames: false, stalledAt: 0 };
  try {
    session = await adapterFor(ticket.media).watch({
      token: ticket.token,
      mode: ticket.mode,
      room: ticket.room,
      presenter: ticket.presenter,
      media: ticket.media,
      onTrack: (kind, track) => stage.attach(kind, track),
      onElement: (element) => {
        stage.showElement(element);
        current.frames?.stop();
        current.frames = framesOf(current);
        controls.refresh();
      },
      onViewers: updateViewers,
      // A connection in trouble shows as frames that stop: the frame watch says so.
      onState: () => {},
      onEnded: (how) => {
        if (watching === current) ended_(how);
      },
      subscribe: ticket.mode === 'room' ? () => api.subscribe(ticket.token) : null,
    });
  } catch {
    stage.clear();
    if (page.current !== 'reconnecting' && page.current !== 'ended') show('failed');
    return next(backoff());
  }
  if (stopped) return session.stop();
  failures = 0;
  current.session = session;
  current.frames ??= framesOf(current);
  watching = current;
  controls.refresh();
  if (ticket.state === 'live' && page.current !== 'reconnecting') show('starting');
  return next(WATCHING_POLL_MS);
}

function framesOf(current) {
  return watchFrames([stage.video, $('camera')], {
    onFrames: () => {
      if (watching !== current) return;
      current.sawFrames = true;
      ended = null;
      show('live');
    },
    onStall: () => {
      if (watching === current) stalled(current);
    },
  });
}

function stalled(current) {
  if (page.current === 'reconnecting') return;
  current.stalledAt = Date.now();
  show('reconnecting');
}

// The session ended by itself ('ended': the stream is over; 'lost': the connection).
function ended_(how) {
  const { room, sawFrames } = watching;
  watching.frames.stop();
  watching = null;
  if (how === 'ended') {
    ended = { room, at: Date.now() };
    stage.clear();
    if (sawFrames || page.current === 'reconnecting') show('ended');
    else if (page.current === 'starting') show('waiting');
  } else if (sawFrames) {
    // Keep the last frame under "Reconnecting…" until the new connection brings pictures.
    if (page.current !== 'reconnecting') show('reconnecting');
  }
  next(0);
}

// Leaves the session from the page's side, as if it had ended that way.
function leave(how) {
  const { session } = watching;
  ended_(how);
  session.stop();
}

// Leaving the page leaves the stream too (the relay session is DELETEd, the room left); back
// from the browser's page cache, it starts over.
window.addEventListener('pagehide', () => {
  stopped = true;
  clearTimeout(timer);
  if (watching) {
    watching.frames.stop();
    watching.session.stop();
    watching = null;
  }
});
window.addEventListener('pageshow', (event) => {
  if (!event.persisted) return;
  stopped = false;
  stage.clear();
  show('waiting');
  next(0);
});

if (stream === null) {
  $('stream-name').textContent = 'Unknown stream';
  $('poster-stream').textContent = 'OnAir';
  document.title = 'OnAir';
  show('invalid');
} else {
  $('stream-name').textContent = stream;
  $('poster-stream').textContent = stream;
  document.title = `${stream} — OnAir`;
  show('waiting');
  poll();
}
