// The audience page: waits by itself until something is live (one check every 5 to 7 seconds,
// longer after errors), joins, shows the screen large and the webcam small, starts muted with
// an unmute button. Whatever happens next, the status line says it in words and the page tries
// again by itself: the stream ended, the connection was lost, joining failed (the media adapter
// has closed what it opened), or the service cannot be reached.
import * as api from './api.js';
import { adapterFor } from './media/index.js';

const $ = (id) => document.getElementById(id);
const status = $('status');
const stage = $('stage');
const screenVideo = $('screen');
const cameraVideo = $('camera');
const unmute = $('unmute');
const viewers = $('viewers');

const WAIT_MS = 5000;
const JITTER_MS = 2000;
const MAX_WAIT_MS = 30000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (text) => {
  status.textContent = text;
};

function resetStage() {
  const video = $('screen');
  if (video !== screenVideo) video.replaceWith(screenVideo);
  screenVideo.muted = true;
  unmute.setAttribute('aria-pressed', 'false');
  unmute.textContent = 'Unmute';
  // No empty MediaStream here: a media element with one delays the page's load event forever.
  screenVideo.srcObject = null;
  cameraVideo.srcObject = null;
  cameraVideo.hidden = true;
  stage.hidden = true;
  unmute.hidden = true;
  viewers.hidden = true;
}

function attach(kind, track) {
  if (kind === 'camera') {
    cameraVideo.srcObject = new MediaStream([track]);
    // Shown once frames arrive: a host without a webcam sends nothing here.
    const show = () => {
      cameraVideo.hidden = false;
    };
    track.addEventListener('unmute', show, { once: true });
    if (!track.muted) show();
    return;
  }
  if (!screenVideo.srcObject) screenVideo.srcObject = new MediaStream();
  screenVideo.srcObject.addTrack(track);
  screenVideo.play().catch(() => {});
}

function showElement(element) {
  element.id = 'screen';
  element.muted = true;
  screenVideo.replaceWith(element);
}

// What the status line says, by what is happening.
const SAY = {
  waiting: 'Waiting for the stream to start…',
  joining: 'Joining the stream…',
  live: 'Live',
  reconnecting: 'The connection is unstable. Reconnecting…',
  ended: 'The stream has ended. Waiting for the next one…',
  lost: 'The connection to the stream was lost. Trying again in a few seconds…',
  failed: 'Could not join the stream. Trying again in a few seconds…',
  unreachable: 'OnAir cannot be reached right now. Trying again in a few seconds…',
};

let leave = null; // while watching: stops the session, as when the page goes away

// Watches one stream until it ends by itself: resolves to 'ended' or 'lost', rejects when joining
// failed (the adapter has closed what it opened by then).
async function watch(ticket) {
  let done;
  const ended = new Promise((resolve) => {
    done = resolve;
  });
  say(SAY.joining);
  const session = await adapterFor(ticket.media).watch({
    token: ticket.token,
    mode: ticket.mode,
    room: ticket.room,
    presenter: ticket.presenter,
    media: ticket.media,
    onTrack: attach,
    onElement: showElement,
    onViewers: (n) => {
      viewers.textContent = `${n} ${n === 1 ? 'viewer' : 'viewers'}`;
      viewers.hidden = false;
    },
    onState: (state) => {
      if (leave) say(SAY[state]);
    },
    onEnded: (how) => done(how),
    subscribe: ticket.mode === 'room' ? () => api.subscribe(ticket.token) : null,
  });
  leave = () => {
    session.stop();
    done('lost'); // back from the browser's page cache, the page joins again
  };
  stage.hidden = false;
  unmute.hidden = false;
  say(SAY.live);
  try {
    return await ended;
  } finally {
    leave = null;
  }
}

async function run() {
  let wait = WAIT_MS;
  const backOff = () => {
    wait = Math.min(wait * 2, MAX_WAIT_MS);
  };
  resetStage();
  say(SAY.waiting);
  for (;;) {
    let ticket = null;
    try {
      ticket = await api.audienceToken();
    } catch {
      backOff();
      say(SAY.unreachable);
    }
    if (ticket?.live) {
      try {
        say(SAY[await watch(ticket)]);
        wait = WAIT_MS;
      } catch {
        // Each try costs a billed join on the Twilio path: wait longer while it keeps failing.
        backOff();
        say(SAY.failed);
      }
      resetStage();
    } else if (ticket) {
      wait = WAIT_MS;
      // Nothing live: a problem said earlier is over; "the stream has ended" stays until the next.
      if (status.textContent !== SAY.ended) say(SAY.waiting);
    }
    await sleep(wait + Math.random() * JITTER_MS);
  }
}

// Leaving the page leaves the stream too (the relay session is DELETEd, the room left).
window.addEventListener('pagehide', () => leave?.());

unmute.addEventListener('click', () => {
  const video = $('screen');
  video.muted = !video.muted;
  unmute.setAttribute('aria-pressed', String(!video.muted));
  unmute.textContent = video.muted ? 'Unmute' : 'Mute';
  if (!video.muted) video.play().catch(() => {});
});

run();
