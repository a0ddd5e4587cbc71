// The local media path: WHIP to publish and WHEP to watch, on the Twilio stand-in's relay.
// Same interface as twilio.js: publish() for the host, watch() for a viewer.

const ICE_GATHERING_LIMIT_MS = 5000;
const STATUS_POLL_MS = 3000;

// Offers everything at once (no trickle): waits for ICE gathering, posts the offer, applies
// the answer. Returns the session URL to DELETE at the end.
async function negotiate(pc, url, token) {
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const timer = setTimeout(resolve, ICE_GATHERING_LIMIT_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
    body: pc.localDescription.sdp,
  });
  if (response.status !== 201) {
    const error = new Error(`The media relay refused the connection (${response.status}).`);
    error.status = response.status;
    throw error;
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  return new URL(response.headers.get('Location'), new URL(url, location.href)).href;
}

// Polls the relay's room status; calls onStatus({publishers, viewers}) or onStatus(null) when
// the room is gone. Returns a function that stops polling.
function pollStatus(url, token, onStatus) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try {
      const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
      if (response.status === 404) onStatus(null);
      else if (response.ok) onStatus(await response.json());
    } catch {
      // A missed poll is not an ending; the connection state says that.
    }
    if (!stopped) setTimeout(tick, STATUS_POLL_MS);
  };
  tick();
  return () => {
    stopped = true;
  };
}

function endSession(pc, sessionUrl, token) {
  pc.close();
  if (sessionUrl) {
    fetch(sessionUrl, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
  }
}

// Host: sends screen, microphone and optional webcam, in that m-line order.
export async function publish({ token, media, tracks, onState, onViewers }) {
  const pc = new RTCPeerConnection();
  pc.addTransceiver(tracks.screen, { direction: 'sendonly' });
  if (tracks.mic) pc.addTransceiver(tracks.mic, { direction: 'sendonly' });
  else pc.addTransceiver('audio', { direction: 'sendonly' });
  if (tracks.camera) pc.addTransceiver(tracks.camera, { direction: 'sendonly' });
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'disconnected') onState('reconnecting');
    else if (pc.connectionState === 'connected') onState('live');
    else if (pc.connectionState === 'failed') onState('ended');
  });
  const sessionUrl = await negotiate(pc, media.publish_url, token);
  const stopPolling = pollStatus(media.status_url, token, (status) => {
    if (status) onViewers(status.viewers);
  });
  return {
    stop() {
      stopPolling();
      endSession(pc, sessionUrl, token);
    },
  };
}

// Viewer: receives the screen, the audio and the webcam; `subscribe` (room mode) asks the back
// end to let the host's tracks through once the session exists.
export async function watch({ token, media, onTrack, onViewers, onEnded, subscribe }) {
  const pc = new RTCPeerConnection();
  const kinds = [
    ['screen', pc.addTransceiver('video', { direction: 'recvonly' })],
    ['audio', pc.addTransceiver('audio', { direction: 'recvonly' })],
    ['camera', pc.addTransceiver('video', { direction: 'recvonly' })],
  ];
  let ended = false;
  let stopPolling = () => {};
  const end = () => {
    if (ended) return;
    ended = true;
    stopPolling();
    endSession(pc, sessionUrl, token);
    onEnded();
  };
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') end();
  });
  const sessionUrl = await negotiate(pc, media.watch_url, token);
  for (const [kind, transceiver] of kinds) onTrack(kind, transceiver.receiver.track);
  if (subscribe) await subscribe();
  stopPolling = pollStatus(media.status_url, token, (status) => {
    if (!status || status.publishers === 0) end();
    else onViewers(status.viewers);
  });
  return {
    stop() {
      ended = true;
      stopPolling();
      endSession(pc, sessionUrl, token);
    },
  };
}
