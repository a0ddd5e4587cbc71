// Being on air: the screen picked straight from the click, published with the studio's
// microphone and webcam into the studio's room, then `stream_start`; while live, another screen
// without stopping, the microphone's mute, and one way out for everything that ends it (the
// button, the browser's "Stop sharing", the connection lost, the tab closing): the publisher
// stopped first (its relay session DELETEd), then `stream_stop`, which ends the room.
import * as api from '../api.js';
import { adapterFor } from '../media/index.js';

export async function pickScreen() {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 }, audio: false });
  return stream.getVideoTracks()[0];
}

// What a failed screen capture means to a person; `null` for a cancelled picker (silent).
export function captureProblem(error) {
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

export class Broadcast {
  #login;
  #publisher = null;
  #onEnded;
  #onScreenEnded = () => this.#onEnded('stopped sharing');
  screen;
  mic;
  startedAt = null;

  // `onEnded(how)`: the broadcast ended by itself: 'stopped sharing', 'ended' (the room closed
  // under it), 'lost' (the connection). The caller then calls stop().
  constructor({ login, screen, mic, camera, onState, onViewers, onEnded }) {
    this.#login = login;
    this.#onEnded = onEnded;
    this.screen = screen;
    this.mic = mic;
    this.camera = camera;
    this.onState = onState;
    this.onViewers = onViewers;
  }

  get token() {
    return this.#login.token;
  }

  // Publishes and starts the stream; on failure everything it opened is closed and the room
  // ended, and the error (an ApiError for stream_start's 409) is thrown.
  async start() {
    try {
      this.#publisher = await adapterFor(this.#login.media).publish({
        token: this.#login.token,
        room: this.#login.room,
        media: this.#login.media,
        tracks: { screen: this.screen, mic: this.mic, camera: this.camera },
        onState: this.onState,
        onViewers: this.onViewers,
        onEnded: (how) => this.#onEnded(how),
      });
      await api.streamStart(this.#login.token);
    } catch (error) {
      await this.#publisher?.stop();
      await api.streamStop(this.#login.token).catch(() => {});
      throw error;
    }
    this.startedAt = Date.now();
    this.screen.addEventListener('ended', this.#onScreenEnded);
  }

  // Another screen or window in place of the one on air.
  async replaceScreen(track) {
    await this.#publisher.replaceScreen(track);
    this.screen.removeEventListener('ended', this.#onScreenEnded);
    this.screen.stop();
    this.screen = track;
    track.addEventListener('ended', this.#onScreenEnded);
  }

  // Mutes or unmutes the microphone (the track sends silence while disabled); returns whether
  // it is muted now.
  toggleMute() {
    if (!this.mic) return false;
    this.mic.enabled = !this.mic.enabled;
    return !this.mic.enabled;
  }

  // Ends the broadcast: the publisher first, then the stream and its room. Throws the ApiError
  // of stream_stop if that failed (the reaper ends the room later).
  async stop() {
    this.screen.removeEventListener('ended', this.#onScreenEnded);
    this.screen.stop();
    if (this.mic) this.mic.enabled = true;
    await this.#publisher?.stop();
    await api.streamStop(this.#login.token);
  }

  // The tab is closing: a beacon reaches stream_stop even as the page goes away.
  closeWithPage() {
    api.stopOnPageClose(this.#login.token);
    this.#publisher?.stop();
  }
}
