// The local media path: WHIP to publish and WHEP to watch, on the Twilio stand-in's relay.
// Same interface as twilio.js (media/index.js describes it). Every session is a MediaSession:
// the peer connection and the relay session are registered with it as they open, so any
// failure closes both in one place.
//
// How a session learns that it is over, without asking for anything that may be gone: the relay
// ends a session (the room completed, the participant removed) with a DTLS close_notify, which
// the page sees at once as its DTLS transport `closed`; then there is nothing left to DELETE. A
// viewer may connect before anyone publishes (the stream `ready`): it receives nothing until
// the host's media arrives, and stays connected when it stops. Viewer counts come from the
// page's status polling, not from the relay. The meeting adapter (meeting/relay.js) is built
// from the same steps (peerConnection, negotiate).
import { MediaSession } from './session.js';

const ICE_GATHERING_LIMIT_MS = 5000;
// A relay answers an offer in well under a second; no answer within this is a failure.
const ANSWER_LIMIT_MS = 10000;
// A connection `disconnected` this long is given up (the page joins again), instead of waiting
// the half minute Chromium takes to call it `failed`.
const DISCONNECTED_LIMIT_MS = 5000;

// A peer connection that ends the session when it fails or stays disconnected.
export function peerConnection(session, onState) {
  const pc = new RTCPeerConnection();
  let disconnected;
  pc.addEventListener('connectionstatechange', () => {
    clearTimeout(disconnected);
    if (session.closed) return;
    if (pc.connectionState === 'failed') session.close('lost');
    else if (pc.connectionState === 'disconnected') {
      onState?.('reconnecting');
      disconnected = setTimeout(() => session.close('lost'), DISCONNECTED_LIMIT_MS);
    } else if (pc.connectionState === 'connected') onState?.('live');
  });
  session.opened(() => {
    clearTimeout(disconnected);
    pc.close();
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
// the relay session with the session as soon as the answer names it (DELETEd on close unless the
// relay ended it first), applies the answer, and ends the session with `endedBy` when the relay
// closes it (gone: nothing to DELETE). Resolves to the relay session's URL. The session's undo
// steps run newest first, one after the other, so the DELETE is answered before the peer
// connection closes: closed first, its DTLS close_notify would end the session on the relay
// before the DELETE arrived, which would then answer 404 (a console error). `locationRequired`
// false (an IVS stage's WHIP endpoint, on another origin: its Location is readable only if its
// CORS answer exposes it): an answer without one is accepted, there is then nothing to DELETE
// (stream_stop disconnects the participant) and it resolves to null.
export async function negotiate(session, pc, url, token, endedBy, { locationRequired = true } = {}) {
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
    if (!where && locationRequired) throw new Error('the video service answered without a session address');
    const sessionUrl = where ? new URL(where, new URL(url, location.href)).href : null;
    if (sessionUrl) {
      session.opened(() => {
        if (session.gone) return undefined; // ended on the relay already
        const headers = { Authorization: `Bearer ${token}` };
        return fetch(sessionUrl, { method: 'DELETE', headers, keepalive: true }).catch(() => {});
      });
    }
    const answer = await reach(response.text());
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    const dtls = pc.getTransceivers()[0].sender.transport;
    dtls?.addEventListener('statechange', () => {
      if (dtls.state === 'closed') session.close(endedBy, { gone: true });
      else if (dtls.state === 'failed') session.close('lost');
    });
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

// Puts the codecs of `mimeType` (e.g. 'video/H264') first in the transceiver's offer, ordered by
// `rank` (lowest first; e.g. one H.264 profile before the others), the others after them in the
// browser's order. Throws, in words, when the browser cannot send that codec at all; a browser
// without setCodecPreferences offers its own order (the answerer picks).
export function preferCodec(transceiver, mimeType, rank = () => 0) {
  const kind = mimeType.split('/')[0];
  const codecs = RTCRtpSender.getCapabilities?.(kind)?.codecs;
  if (!codecs) return;
  const wanted = (codec) => codec.mimeType.toLowerCase() === mimeType.toLowerCase();
  if (!codecs.some(wanted)) {
    const name = { h264: 'H.264', opus: 'Opus' }[mimeType.split('/')[1].toLowerCase()] ?? mimeType.split('/')[1];
    throw new Error(
      `this browser cannot send ${name} ${kind === 'video' ? 'video' : 'sound'}, which the video service requires; use a recent Chrome, Edge, Firefox or Safari`,
    );
  }
  if (typeof transceiver.setCodecPreferences !== 'function') return;
  const first = codecs.filter(wanted).sort((a, b) => rank(a) - rank(b));
  transceiver.setCodecPreferences([...first, ...codecs.filter((codec) => !wanted(codec))]);
}

// Host: sends screen, microphone and optional webcam, in that m-line order. Another screen
// replaces the first on the same sender (RTCRtpSender.replaceTrack: no renegotiation, viewers
// keep their session and get the new picture with its next keyframe). `codecs` ({video, audio}
// mime types and an optional videoRank, ivs mode: H.264 Baseline and Opus) are put first in the
// offer. `locationRequired: false` accepts an answer without a readable Location (negotiate).
export function publish({ token, media, tracks, onState, onEnded, codecs = null, locationRequired = true }) {
  const session = new MediaSession(onEnded);
  let screen;
  return session.start(
    async () => {
      const pc = peerConnection(session, onState);
      const video = pc.addTransceiver(tracks.screen, { direction: 'sendonly' });
      screen = video.sender;
      const audio = pc.addTransceiver(tracks.mic ?? 'audio', { direction: 'sendonly' });
      if (tracks.camera) pc.addTransceiver(tracks.camera, { direction: 'sendonly' });
      if (codecs) {
        preferCodec(video, codecs.video, codecs.videoRank);
        preferCodec(audio, codecs.audio);
      }
      // The relay closing a publisher's session means its room ended under it.
      await negotiate(session, pc, media.publish_url, token, 'ended', { locationRequired });
    },
    { replaceScreen: (track) => screen.replaceTrack(track) },
  );
}

// Viewer: receives the screen, the audio and the webcam; `subscribe` (room mode) asks the back
// end to let the host's tracks through once the relay session exists. The relay closing it
// means the room ended: the stream is over.
export function watch({ token, media, onTrack, onState, onEnded, subscribe }) {
  const session = new MediaSession(onEnded);
  return session.start(async () => {
    const pc = peerConnection(session, onState);
    const kinds = [
      ['screen', pc.addTransceiver('video', { direction: 'recvonly' })],
      ['audio', pc.addTransceiver('audio', { direction: 'recvonly' })],
      ['camera', pc.addTransceiver('video', { direction: 'recvonly' })],
    ];
    await negotiate(session, pc, media.watch_url, token, 'ended');
    for (const [kind, transceiver] of kinds) onTrack(kind, transceiver.receiver.track);
    if (subscribe) await subscribe();
  });
}
