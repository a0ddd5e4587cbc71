// The local media path: WHIP to publish and WHEP to watch, on the Twilio stand-in's relay.
// Same interface as twilio.js (media/index.js describes it). Every session is a MediaSession:
// the peer connection, the relay session (DELETEd once its URL is known) and the status poll
// are registered with it as they open, so any failure closes all of them in one place. The
// meeting adapter (meeting/relay.js) is built from the same steps (peerConnection, negotiate,
// pollStatus).
import { MediaSession } from './session.js';

const ICE_GATHERING_LIMIT_MS = 5000;
// A relay answers an offer in well under a second; no answer within this is a failure.
const ANSWER_LIMIT_MS = 10000;
const STATUS_POLL_MS = 3000;

// The relay session's DELETE a peer connection waits for before it closes (see negotiate), and
// how long at most.
const closeAfter = new WeakMap();
const DELETE_WAIT_MS = 1000;

// A peer connection that closes with the session; a failed connection ends the session.
export function peerConnection(session, onState) {
  const pc = new RTCPeerConnection();
  session.opened(() => {
    const deleted = closeAfter.get(pc);
    if (deleted) deleted.then(() => pc.close());
    else pc.close();
  });
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'failed') session.close('lost');
    else if (pc.connectionState === 'disconnected') onState?.('reconnecting');
    else if (pc.connectionState === 'connected') onState?.('live');
  });
  return pc;
}

function iceGathered(pc) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const timer = setTimeout(resolve, ICE_GATHERING_LIMIT_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

// Offers everything at once (no trickle): waits for ICE gathering, posts the offer, registers
// the relay session's DELETE with the session as soon as the answer names it, applies the answer.
// Resolves to the relay session's URL.
export async function negotiate(session, pc, url, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc);
  const abort = new AbortController();
  session.opened(() => abort.abort());
  const timer = setTimeout(() => abort.abort(), ANSWER_LIMIT_MS);
  try {
    const response = await reach(
      fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
        body: pc.localDescription.sdp,
        signal: abort.signal,
      }),
    );
    if (response.status !== 201) throw await refusal(response);
    const where = response.headers.get('Location');
    if (!where) throw new Error('the video service answered without a session address');
    const sessionUrl = new URL(where, new URL(url, location.href)).href;
    session.opened(() => {
      if (session.gone) return; // ended on the relay already
      const headers = { Authorization: `Bearer ${token}` };
      const deleted = fetch(sessionUrl, { method: 'DELETE', headers, keepalive: true }).catch(() => {});
      // The peer connection closes once the DELETE is answered (1 s at most): closed first, its
      // DTLS close_notify would end the session on the relay before the DELETE arrived, which
      // would then answer 404 (a console error).
      closeAfter.set(pc, Promise.race([deleted, new Promise((resolve) => setTimeout(resolve, DELETE_WAIT_MS))]));
    });
    const answer = await reach(response.text());
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    return sessionUrl;
  } finally {
    clearTimeout(timer);
  }
}

// A refused offer as an Error in words, with the HTTP status and, when the relay said it, Twilio's
// error code (the relay answers Twilio's error bodies: 53105 is a full room).
async function refusal(response) {
  const error = new Error(`the video service refused the connection (error ${response.status})`);
  error.status = response.status;
  try {
    const { code } = await response.json();
    if (Number.isInteger(code)) error.code = code;
  } catch {
    // Not a Twilio error body: the status says enough.
  }
  return error;
}

// A fetch step's failure in words: no answer in time (aborted), or no connection at all.
async function reach(step) {
  try {
    return await step;
  } catch (error) {
    throw new Error(
      error.name === 'AbortError' ? 'the video service did not answer in time' : 'the video service cannot be reached',
    );
  }
}

// Polls the relay's room status every `intervalMs` until the session closes: onStatus(the
// status), or onStatus(null) when the room is gone.
export function pollStatus(session, url, token, onStatus, intervalMs = STATUS_POLL_MS) {
  let timer;
  session.opened(() => clearTimeout(timer));
  const tick = async () => {
    try {
      const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
      if (session.closed) return;
      if (response.status === 404) onStatus(null);
      else if (response.ok) onStatus(await response.json());
    } catch {
      // A missed poll is not an ending; the connection state says that.
    }
    if (!session.closed) timer = setTimeout(tick, intervalMs);
  };
  tick();
}

// Host: sends screen, microphone and optional webcam, in that m-line order.
export function publish({ token, media, tracks, onState, onViewers, onEnded }) {
  const session = new MediaSession(onEnded);
  return session.start(async () => {
    const pc = peerConnection(session, onState);
    pc.addTransceiver(tracks.screen, { direction: 'sendonly' });
    if (tracks.mic) pc.addTransceiver(tracks.mic, { direction: 'sendonly' });
    else pc.addTransceiver('audio', { direction: 'sendonly' });
    if (tracks.camera) pc.addTransceiver(tracks.camera, { direction: 'sendonly' });
    await negotiate(session, pc, media.publish_url, token);
    pollStatus(session, media.status_url, token, (status) => {
      if (status) onViewers(status.viewers);
    });
  });
}

// Viewer: receives the screen, the audio and the webcam; `subscribe` (room mode) asks the back
// end to let the host's tracks through once the relay session exists.
export function watch({ token, media, onTrack, onViewers, onState, onEnded, subscribe }) {
  const session = new MediaSession(onEnded);
  return session.start(async () => {
    const pc = peerConnection(session, onState);
    const kinds = [
      ['screen', pc.addTransceiver('video', { direction: 'recvonly' })],
      ['audio', pc.addTransceiver('audio', { direction: 'recvonly' })],
      ['camera', pc.addTransceiver('video', { direction: 'recvonly' })],
    ];
    await negotiate(session, pc, media.watch_url, token);
    for (const [kind, transceiver] of kinds) onTrack(kind, transceiver.receiver.track);
    if (subscribe) await subscribe();
    pollStatus(session, media.status_url, token, (status) => {
      if (!status) session.close('ended', { gone: true });
      else if (status.publishers === 0) session.close('ended');
      else onViewers(status.viewers);
    });
  });
}
