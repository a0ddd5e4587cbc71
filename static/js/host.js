// The host page: password and "Go live" in one form, so the screen picker opens straight from
// the click before any network call; then the room, the media, stream_start. Every way out
// (the button, the browser's "Stop sharing", closing the tab) reaches stream_stop.
import * as api from './api.js';
import { adapterFor } from './media/index.js';

const $ = (id) => document.getElementById(id);
const form = $('go-live-form');
const password = $('password');
const button = $('go-live');
const cameraChoice = $('camera');
const muteButton = $('mute');
const status = $('status');
const problem = $('problem');
const viewers = $('viewers');
const preview = $('preview');
const cameraPreview = $('camera-preview');

let session = null; // { token, tracks, publisher } while live
let busy = false;

const say = (text) => {
  status.textContent = text;
};
const explain = (text) => {
  problem.textContent = text;
  problem.hidden = !text;
};
const showViewers = (n) => {
  viewers.textContent = `${n} ${n === 1 ? 'viewer' : 'viewers'}`;
};

const isLive = () => button.getAttribute('aria-pressed') === 'true';

function setLive(live) {
  button.setAttribute('aria-pressed', String(live));
  button.textContent = live ? 'Stop the stream' : 'Go live';
  password.disabled = live;
  cameraChoice.disabled = live;
  muteButton.hidden = !live;
  viewers.hidden = !live;
}

function stopTracks(tracks) {
  for (const track of Object.values(tracks ?? {})) track?.stop();
  preview.srcObject = null;
  cameraPreview.srcObject = null;
  cameraPreview.hidden = true;
}

// What a failed screen capture means to a person; `null` for a cancelled picker (silent).
function captureProblem(error) {
  if (error.name === 'NotAllowedError') {
    return /system/i.test(error.message)
      ? 'Your computer is not letting the browser record the screen. Allow screen recording for this browser in the system settings, then try again.'
      : null;
  }
  if (error.name === 'NotReadableError' || error.name === 'AbortError') {
    return 'The screen could not be captured. Close other apps that are sharing the screen and try again.';
  }
  return `The screen could not be captured (${error.name}).`;
}

async function optionalTrack(constraints) {
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    return stream.getTracks()[0];
  } catch {
    return null;
  }
}

async function goLive() {
  explain('');
  if (!navigator.mediaDevices?.getDisplayMedia) {
    explain('This browser cannot share a screen. Use a recent Chrome, Edge, Firefox or Safari on a computer.');
    return;
  }
  let screen;
  try {
    // First thing in the click handler: the browser requires the user's gesture for this.
    screen = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 }, audio: false });
  } catch (error) {
    const text = captureProblem(error);
    if (text) explain(text);
    return;
  }
  const tracks = { screen: screen.getVideoTracks()[0] };
  say('Connecting…');
  tracks.mic = await optionalTrack({ audio: true });
  if (cameraChoice.checked) tracks.camera = await optionalTrack({ video: { width: 320, height: 240 } });
  const notes = [];
  if (!tracks.mic) notes.push('The microphone is unavailable: you are live without sound.');
  if (cameraChoice.checked && !tracks.camera) notes.push('The webcam is unavailable.');
  preview.srcObject = new MediaStream([tracks.screen]);
  if (tracks.camera) {
    cameraPreview.srcObject = new MediaStream([tracks.camera]);
    cameraPreview.hidden = false;
  }

  let login = null;
  try {
    login = await api.hostToken(password.value);
    const adapter = adapterFor(login.media);
    const publisher = await adapter.publish({
      token: login.token,
      room: login.room,
      media: login.media,
      tracks,
      onState: (state) => {
        if (isLive()) say(state === 'reconnecting' ? 'Reconnecting…' : 'You are live');
      },
      onViewers: showViewers,
      onEnded: (how) => stop(how === 'lost' ? 'The connection to the video service was lost.' : ''),
    });
    session = { token: login.token, tracks, publisher };
    await api.streamStart(login.token);
    // The media ended while stream_start ran: stop() has ended the stream and said so.
    if (!session) return;
  } catch (error) {
    // A failed publish has closed what it opened; a failure after it leaves the publisher to stop.
    if (session) session.publisher.stop();
    // The room exists once host_token answered: end it so nothing is left running.
    if (login) api.streamStop(login.token).catch(() => {});
    session = null;
    stopTracks(tracks);
    say('Offline');
    explain(
      error.status === 401
        ? 'That password is not right.'
        : error.status === 429
          ? 'Too many attempts. Wait a minute and try again.'
          : `The stream could not start: ${error.message}`,
    );
    return;
  }
  tracks.screen.addEventListener('ended', () => stop()); // the browser's own "Stop sharing"
  showViewers(0);
  setLive(true);
  say('You are live');
  explain(notes.join(' '));
}

// Ends the stream: the button, "Stop sharing", or the media ending by itself (`why` says how).
async function stop(why = '') {
  if (!session) return;
  const { token, tracks, publisher } = session;
  session = null;
  publisher.stop();
  stopTracks(tracks);
  setLive(false);
  explain(why);
  try {
    await api.streamStop(token);
    say('Stream ended');
  } catch (error) {
    say('Stream ended');
    explain(`${why} The stream may still be running: ${error.message}. It ends by itself within minutes.`.trim());
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (busy) return;
  // A second press while one is being handled is ignored (the button keeps its focus, so a
  // keyboard user can press it again once the state changed).
  busy = true;
  button.setAttribute('aria-busy', 'true');
  try {
    if (session) await stop();
    else await goLive();
  } finally {
    busy = false;
    button.removeAttribute('aria-busy');
  }
});

muteButton.addEventListener('click', () => {
  const mic = session?.tracks.mic;
  if (!mic) return;
  mic.enabled = !mic.enabled;
  muteButton.setAttribute('aria-pressed', String(!mic.enabled));
  muteButton.textContent = mic.enabled ? 'Mute microphone' : 'Unmute microphone';
});

// Closing or reloading the tab: the beacon reaches stream_stop even as the page goes away.
window.addEventListener('pagehide', () => {
  if (session) {
    api.stopOnPageClose(session.token);
    session.publisher.stop();
  }
});

say('Offline');
