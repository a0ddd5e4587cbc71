// The audience page: waits by itself until something is live (one check every 5 to 7 seconds,
// longer after errors), joins, shows the screen large and the webcam small, starts muted with
// an unmute button, and says when the stream ended before waiting for the next one.
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

async function watch(ticket) {
  let done;
  const ended = new Promise((resolve) => {
    done = resolve;
  });
  const adapter = adapterFor(ticket.media);
  const session = await adapter.watch({
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
    onEnded: () => done(),
    subscribe: ticket.mode === 'room' ? () => api.subscribe(ticket.token) : null,
  });
  stage.hidden = false;
  unmute.hidden = false;
  say('Live');
  await ended;
  session.stop();
}

async function run() {
  let wait = WAIT_MS;
  resetStage();
  say('Waiting for the stream to start…');
  for (;;) {
    let ticket = null;
    try {
      ticket = await api.audienceToken();
      wait = WAIT_MS;
    } catch {
      wait = Math.min(wait * 2, MAX_WAIT_MS);
    }
    if (ticket?.live) {
      try {
        await watch(ticket);
        resetStage();
        say('The stream has ended. Waiting for the next one…');
      } catch {
        resetStage();
        say('Could not join the stream. Trying again…');
      }
    }
    await sleep(wait + Math.random() * JITTER_MS);
  }
}

unmute.addEventListener('click', () => {
  const video = $('screen');
  video.muted = !video.muted;
  unmute.setAttribute('aria-pressed', String(!video.muted));
  unmute.textContent = video.muted ? 'Unmute' : 'Mute';
  if (!video.muted) video.play().catch(() => {});
});

run();
