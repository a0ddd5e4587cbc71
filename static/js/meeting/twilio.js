// A meeting on Twilio Video (the interface is in meeting/index.js). Connects with the page's
// camera and microphone, subscribes to everyone automatically, follows the dominant speaker,
// publishes a shared screen as its own `screen` track, and mutes by disabling a track (the
// others get `trackDisabled`). The connected room is registered with one MediaSession, so a
// failure, the room's end and leave() all disconnect it in one place.
//
// Bandwidth profile: `collaboration` (Twilio's advice when in doubt, and what its own reference
// meeting app uses). `grid` would give every subscribed video the same share, so the shared
// screen, which the page pins large for everyone, would get no more than a thumbnail;
// `presentation` starves the cameras whenever anyone has priority. In `collaboration` the share
// follows priority and render size: screens are published at `high` priority and the dominant
// speaker's camera is raised to `high`.
//
// The page renders the plain MediaStreamTracks it is given (the same on both paths), so the SDK
// never sees the video elements. With the SDK's automatic switch-off and content preferences
// (`auto`, which watch attached elements) every video would be switched off for want of a
// visible element; so both are `manual`, and this adapter says what it knows instead: every
// video on, the screen at 1080p, cameras at the size of a tile in a grid of everyone.
import { MediaSession } from '../media/session.js';
import { video as sdk } from '../media/sdk.js';
import { nameOf } from './identity.js';
import { screenShare } from './screen.js';

const CONNECT_OPTIONS = {
  automaticSubscription: true,
  dominantSpeaker: true,
  bandwidthProfile: {
    video: {
      mode: 'collaboration',
      dominantSpeakerPriority: 'high',
      clientTrackSwitchOffControl: 'manual',
      contentPreferencesMode: 'manual',
    },
  },
  // Adaptive simulcast: VP8 layers that are turned off when nobody needs them.
  preferredVideoCodecs: 'auto',
  // Speech, not music (as Twilio's reference app).
  maxAudioBitrate: 16000,
};

// Twilio's "Room completed": the meeting was ended (the reaper, its time limit). Any other error
// is a lost connection; no error is a disconnect we asked for.
const ROOM_COMPLETED = 53118;

const SCREEN_SIZE = { width: 1920, height: 1080 };

// A camera tile's size in a grid of `people` on a 1280-pixel-wide call: each column's width,
// never under 320 (a phone's two columns).
export function cameraSize(people) {
  const width = Math.max(320, Math.round(1280 / Math.ceil(Math.sqrt(Math.max(1, people)))));
  return { width, height: Math.round((width * 9) / 16) };
}

// 'screen' | 'mic' | 'camera' of a track or a publication, by the names this adapter publishes;
// a track named otherwise (another client) by its kind.
function kindOf({ kind, name, trackName }) {
  const named = name ?? trackName;
  if (named === 'screen') return 'screen';
  return kind === 'audio' ? 'mic' : 'camera';
}

export async function joinMeeting({
  token,
  room,
  tracks,
  onParticipant,
  onParticipantLeft,
  onTrack,
  onTrackGone,
  onMuted,
  onDominantSpeaker,
  onState,
}) {
  const session = new MediaSession((reason) => onState('ended', reason));
  let Video;
  let connected;
  let camera = null;
  let mic = null;
  // identity -> Set of kinds handed to the page with onTrack, so each is taken back once.
  const shown = new Map();

  const showTrack = (participant, track, publication) => {
    const kind = kindOf(track);
    const kinds = shown.get(participant.identity) ?? new Set();
    shown.set(participant.identity, kinds);
    if (kinds.has(kind)) return;
    kinds.add(kind);
    if (track.kind === 'video') {
      track.switchOn();
      track.setContentPreferences({
        renderDimensions: kind === 'screen' ? SCREEN_SIZE : cameraSize(connected.participants.size + 1),
      });
    }
    onTrack(participant.identity, kind, track.mediaStreamTrack);
    if (kind !== 'screen') onMuted(participant.identity, kind, !publication.isTrackEnabled);
  };
  const hideTrack = (participant, track) => {
    const kind = kindOf(track);
    if (shown.get(participant.identity)?.delete(kind)) onTrackGone(participant.identity, kind);
  };
  // Cameras are as large as a tile of a grid of everyone in the call.
  const resizeCameras = () => {
    const renderDimensions = cameraSize(connected.participants.size + 1);
    connected.participants.forEach((participant) =>
      participant.videoTracks.forEach(({ track }) => {
        if (track && kindOf(track) === 'camera') track.setContentPreferences({ renderDimensions });
      }),
    );
  };
  const arrive = (participant) => {
    onParticipant({ identity: participant.identity, name: nameOf(participant.identity), local: false });
    // Tracks subscribed before these listeners existed.
    participant.tracks.forEach((publication) => {
      if (publication.track) showTrack(participant, publication.track, publication);
    });
  };
  const leave = (participant) => {
    for (const kind of shown.get(participant.identity) ?? []) onTrackGone(participant.identity, kind);
    shown.delete(participant.identity);
    onParticipantLeft(participant.identity);
  };

  await session.start(async () => {
    Video = await sdk();
    const local = [];
    if (tracks.camera) local.push((camera = new Video.LocalVideoTrack(tracks.camera, { name: 'camera' })));
    if (tracks.mic) local.push((mic = new Video.LocalAudioTrack(tracks.mic, { name: 'mic' })));
    connected = await Video.connect(token, { name: room, tracks: local, ...CONNECT_OPTIONS });
    session.opened(() => connected.disconnect());

    connected.on('participantConnected', (participant) => {
      arrive(participant);
      resizeCameras();
    });
    connected.on('participantDisconnected', (participant) => {
      leave(participant);
      resizeCameras();
    });
    connected.on('trackSubscribed', (track, publication, participant) => showTrack(participant, track, publication));
    connected.on('trackUnsubscribed', (track, _publication, participant) => hideTrack(participant, track));
    const muted = (participant, publication, state) => {
      const kind = kindOf(publication);
      if (kind !== 'screen') onMuted(participant.identity, kind, state);
    };
    connected.on('trackDisabled', (publication, participant) => muted(participant, publication, true));
    connected.on('trackEnabled', (publication, participant) => muted(participant, publication, false));
    connected.on('dominantSpeakerChanged', (participant) => onDominantSpeaker(participant?.identity ?? null));
    connected.on('reconnecting', () => onState('reconnecting'));
    connected.on('reconnected', () => onState('connected'));
    connected.on('disconnected', (_room, error) =>
      session.close(error && error.code !== ROOM_COMPLETED ? 'lost' : 'ended'),
    );

    const me = connected.localParticipant.identity;
    onParticipant({ identity: me, name: nameOf(me), local: true });
    connected.participants.forEach(arrive);
    if (connected.dominantSpeaker) onDominantSpeaker(connected.dominantSpeaker.identity);
  });
  onState('connected');

  // The screen: its own track named `screen`, at high priority (the others pin it large).
  const screen = screenShare({
    open: (track) => new Video.LocalVideoTrack(track, { name: 'screen' }),
    start: (publishing) => connected.localParticipant.publishTrack(publishing, { priority: 'high' }),
    close: (publishing) => session.closed || connected.localParticipant.unpublishTrack(publishing),
    callClosed: () => session.closed,
  });
  return {
    setMicEnabled: (on) => mic?.enable(on),
    setCameraEnabled: (on) => camera?.enable(on),
    shareScreen: screen.share,
    stopScreen: screen.stop,
    leave: () => session.close('stopped'),
  };
}
