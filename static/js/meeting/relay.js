// A meeting on the stand-in's relay (the interface is in meeting/index.js; the relay's side is
// docs/RELAY.md, "Meeting rooms"). Built from the WHIP adapter's steps (media/whip.js):
//
// - a camera session: one WHIP session with the camera and the microphone (each m-line offered
//   even without its track, so the order holds); mute = `track.enabled = false` plus the session's
//   `state` POST, which is how the others learn of it;
// - a screen session while sharing: a WHIP session `?kind=screen`, DELETEd to stop;
// - the others: the room status, polled every 500 ms, lists who is there and what each publishes
//   (camera, mic, screen, muted or not); for each other participant one WHEP session
//   `?publisher=<identity>` (m-lines screen, mic, camera) while they are listed. Who is no longer
//   listed has left or dropped: their session is closed and their tracks taken back.
//
// The call is one MediaSession; each screen and each remote participant's session is a
// MediaSession of its own (it may end and be opened again while the call goes on), closed with
// the call. A remote session that fails is opened again on a later poll while its participant is
// listed. Every session ends as soon as the relay closes it (negotiate watches its DTLS
// transport: a participant dropped or left, the room completed), and is then gone on the relay:
// nothing to DELETE.
import { MediaSession } from '../media/session.js';
import { negotiate, peerConnection } from '../media/whip.js';
import { nameOf } from './identity.js';
import { screenShare } from './screen.js';

const STATUS_POLL_MS = 500;
// A remote participant's session that failed is tried again after this.
const RETRY_MS = 2000;
const KINDS = ['camera', 'mic', 'screen'];

// Polls the relay's room status every STATUS_POLL_MS until the session closes: onStatus(the
// status), or onStatus(null) when the room is gone.
function pollStatus(session, url, token, onStatus) {
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
    if (!session.closed) timer = setTimeout(tick, STATUS_POLL_MS);
  };
  tick();
}

export async function joinMeeting({
  token,
  identity: me,
  media,
  tracks,
  onParticipant,
  onParticipantLeft,
  onTrack,
  onTrackGone,
  onMuted,
  onState,
}) {
  const call = new MediaSession((reason) => onState('ended', reason));
  // Sessions that live inside the call (the screen, one per remote participant).
  const children = new Set();
  call.opened(() => {
    // Ended on the relay (the room over, this participant dropped): so are they.
    for (const child of [...children]) child.close('stopped', { gone: call.gone });
  });
  const child = (onEnded) => {
    const session = new MediaSession(onEnded);
    children.add(session);
    session.opened(() => children.delete(session));
    if (call.closed) session.close('stopped');
    return session;
  };
  const remotes = new Map(); // identity -> { published: Map(kind -> muted), shown, muted, receivers, session, retryAt }
  let cameraSession = null; // the camera session's URL

  const sendState = (body) => {
    if (!cameraSession || call.closed) return;
    fetch(`${cameraSession}/state`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    }).catch(() => {});
  };

  // Hands the page what a remote participant now publishes, and takes back what they stopped.
  const sync = (identity, remote) => {
    for (const kind of KINDS) {
      const published = remote.published.has(kind) && remote.receivers;
      if (published && !remote.shown.has(kind)) {
        remote.shown.add(kind);
        onTrack(identity, kind, remote.receivers[kind]);
      } else if (!published && remote.shown.has(kind)) {
        remote.shown.delete(kind);
        onTrackGone(identity, kind);
      }
      const muted = remote.published.get(kind);
      if (published && kind !== 'screen' && remote.muted.get(kind) !== muted) {
        remote.muted.set(kind, muted);
        onMuted(identity, kind, muted);
      }
    }
  };

  // One WHEP session receiving `identity`: its screen, microphone and camera.
  const watch = async (identity, remote) => {
    const session = child(() => {
      if (remote.session !== session) return;
      remote.session = null;
      remote.receivers = null;
      remote.retryAt = Date.now() + RETRY_MS;
      if (remotes.get(identity) === remote) sync(identity, remote);
    });
    remote.session = session;
    try {
      await session.start(async () => {
        const pc = peerConnection(session);
        const slots = {
          screen: pc.addTransceiver('video', { direction: 'recvonly' }),
          mic: pc.addTransceiver('audio', { direction: 'recvonly' }),
          camera: pc.addTransceiver('video', { direction: 'recvonly' }),
        };
        const url = `${media.watch_url}?publisher=${encodeURIComponent(identity)}`;
        await negotiate(session, pc, url, token, 'ended');
        remote.receivers = Object.fromEntries(KINDS.map((kind) => [kind, slots[kind].receiver.track]));
      });
    } catch {
      // Refused or failed (the participant may be leaving): tried again while they are listed.
      if (remote.session === session) remote.session = null;
      remote.retryAt = Date.now() + RETRY_MS;
      return;
    }
    if (remotes.get(identity) === remote && !call.closed) sync(identity, remote);
  };

  // A participant no longer listed has left or dropped; the relay ended the sessions watching
  // them already (nothing to DELETE).
  const gone = (identity, remote) => {
    remotes.delete(identity);
    remote.session?.close('stopped', { gone: true });
    for (const kind of remote.shown) onTrackGone(identity, kind);
    onParticipantLeft(identity);
  };

  const onStatus = (status) => {
    if (!status) return call.close('ended', { gone: true }); // the room is over
    const listed = new Map((status.participants ?? []).map((p) => [p.identity, p]));
    // The relay dropped this participant (no media from it) and ended its sessions: the call is over.
    if (!listed.has(me)) return call.close('lost', { gone: true });
    for (const [identity, remote] of remotes) if (!listed.has(identity)) gone(identity, remote);
    for (const [identity, participant] of listed) {
      if (identity === me) continue;
      let remote = remotes.get(identity);
      if (!remote) {
        remote = { published: new Map(), shown: new Set(), muted: new Map(), receivers: null, session: null, retryAt: 0 };
        remotes.set(identity, remote);
        onParticipant({ identity, name: nameOf(identity), local: false });
      }
      remote.published = new Map((participant.publications ?? []).map((p) => [p.kind, Boolean(p.muted)]));
      if (!remote.session && Date.now() >= remote.retryAt) watch(identity, remote);
      else sync(identity, remote);
    }
  };

  // The connection's ups and downs are the page's from the moment the call is up, each change once.
  let joined = false;
  let reported = null;
  const report = (state) => {
    if (state === reported) return;
    reported = state;
    onState(state);
  };
  await call.start(async () => {
    const pc = peerConnection(call, (state) => joined && report(state === 'live' ? 'connected' : state));
    pc.addTransceiver(tracks.camera ?? 'video', { direction: 'sendonly' });
    pc.addTransceiver(tracks.mic ?? 'audio', { direction: 'sendonly' });
    // The relay ending this participant's session means it dropped this participant.
    cameraSession = await negotiate(call, pc, media.publish_url, token, 'lost');
    const state = {};
    if (!tracks.camera?.enabled) state.camera_muted = true;
    if (!tracks.mic?.enabled) state.mic_muted = true;
    if (Object.keys(state).length) sendState(state);
    onParticipant({ identity: me, name: nameOf(me), local: true });
    pollStatus(call, media.status_url, token, onStatus);
  });
  joined = true;
  report('connected');

  const setEnabled = (track, key, on) => {
    if (!track) return;
    track.enabled = on;
    sendState({ [key]: !on });
  };
  // The screen session: a WHIP session `?kind=screen`, DELETEd to stop.
  const screen = screenShare({
    open: () => {
      const sharing = child(() => screen.ended(sharing));
      return sharing;
    },
    start: (sharing, track) =>
      sharing.start(async () => {
        const pc = peerConnection(sharing);
        pc.addTransceiver(track, { direction: 'sendonly' });
        await negotiate(sharing, pc, `${media.publish_url}?kind=screen`, token, 'ended');
      }),
    close: (sharing) => sharing.close('stopped'),
    callClosed: () => call.closed,
  });
  return {
    setMicEnabled: (on) => setEnabled(tracks.mic, 'mic_muted', on),
    setCameraEnabled: (on) => setEnabled(tracks.camera, 'camera_muted', on),
    shareScreen: screen.share,
    stopScreen: screen.stop,
    // The children first: each sends its DELETE (keepalive) at once, so a closing tab leaves
    // every session, not only the camera's, whose undo steps wait for their answers.
    leave: () => {
      for (const session of [...children]) session.close('stopped');
      return call.close('stopped');
    },
  };
}
