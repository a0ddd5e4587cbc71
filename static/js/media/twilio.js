// The production media path: Twilio Programmable Video (room mode, and the host in live mode)
// and the Twilio Live Player (viewers in live mode), from the SDKs vendored into /vendor.
// Same interface as whip.js (media/index.js describes it). Every room or player is a
// MediaSession: connected, it is registered with the session, so any failure (a /subscribe
// refused after joining included) disconnects it in one place.
import { MediaSession } from './session.js';
import { load, video as sdk } from './sdk.js';

// Twilio's "Room completed": the stream is over. Any other error is a lost connection; no error
// is a disconnect we asked for.
const ROOM_COMPLETED = 53118;
const endOf = (error) => (error && error.code !== ROOM_COMPLETED ? 'lost' : 'ended');

// Host: joins the room with the screen, the microphone and the optional webcam, named so
// viewers can tell them apart. Another screen is published in place of the first (unpublish,
// then publish a new track named `screen`): Twilio's SDK restarts only tracks it captured
// itself, so republishing is its way to switch a screen; viewers' subscribe rules (the host's
// tracks) take the new track at once. The viewers count is everyone else in the room.
export function publish({ token, room, tracks, onState, onViewers, onEnded }) {
  const session = new MediaSession(onEnded);
  let connected;
  let screen;
  const replaceScreen = async (track) => {
    const Video = await sdk();
    const next = new Video.LocalVideoTrack(track, { name: 'screen' });
    connected.localParticipant.unpublishTrack(screen);
    screen = next;
    await connected.localParticipant.publishTrack(next);
  };
  return session.start(async () => {
    const Video = await sdk();
    screen = new Video.LocalVideoTrack(tracks.screen, { name: 'screen' });
    const local = [screen];
    if (tracks.mic) local.push(new Video.LocalAudioTrack(tracks.mic, { name: 'mic' }));
    if (tracks.camera) local.push(new Video.LocalVideoTrack(tracks.camera, { name: 'camera' }));
    connected = await Video.connect(token, { name: room, tracks: local });
    session.opened(() => connected.disconnect());
    const count = () => onViewers?.(connected.participants.size);
    connected.on('participantConnected', count);
    connected.on('participantDisconnected', count);
    connected.on('reconnecting', () => onState('reconnecting'));
    connected.on('reconnected', () => onState('live'));
    connected.on('disconnected', (_room, error) => session.close(endOf(error)));
    count();
  }, { replaceScreen });
}

// Viewer, room mode: joins subscribe-only (no tracks, no automatic subscription), then asks the
// back end to subscribe it to the presenter, also before the presenter is there (the stream
// `ready`: their tracks then arrive the moment they publish). A refused subscribe leaves the room
// at once: every participant is billed by the minute and counts toward the room's limit. The
// presenter leaving is the end of the stream; viewers are everyone but the presenter, this one
// included.
function watchRoom({ token, room, presenter, onTrack, onViewers, onState, onEnded, subscribe }) {
  const session = new MediaSession(onEnded);
  return session.start(async () => {
    const Video = await sdk();
    const connected = await Video.connect(token, { name: room, automaticSubscription: false, tracks: [] });
    session.opened(() => connected.disconnect());
    const kindOf = (track) => (track.kind === 'audio' ? 'audio' : track.name === 'camera' ? 'camera' : 'screen');
    let presenterSeen = false;
    const follow = (participant) => {
      if (participant.identity !== presenter) return;
      presenterSeen = true;
      participant.on('trackSubscribed', (track) => onTrack(kindOf(track), track.mediaStreamTrack));
      participant.tracks.forEach((publication) => {
        if (publication.track) onTrack(kindOf(publication.track), publication.track.mediaStreamTrack);
      });
    };
    const count = () => {
      const others = [...connected.participants.values()].filter((p) => p.identity !== presenter).length;
      onViewers?.(others + 1);
    };
    connected.participants.forEach(follow);
    connected.on('participantConnected', (p) => {
      follow(p);
      count();
    });
    connected.on('participantDisconnected', (p) => {
      if (p.identity === presenter && presenterSeen) session.close('ended');
      else count();
    });
    connected.on('reconnecting', () => onState('reconnecting'));
    connected.on('reconnected', () => onState('live'));
    connected.on('disconnected', (_room, error) => session.close(endOf(error)));
    count();
    await subscribe();
  });
}

// Viewer, live mode: the Twilio Live Player with the PlaybackGrant inside the token.
function watchLive({ token, onElement, onEnded }) {
  const session = new MediaSession(onEnded);
  return session.start(async () => {
    await load('/vendor/live-player/twilio-live-player.min.js');
    const { Player } = window.Twilio.Live;
    const player = await Player.connect(token, { playerWasmAssetsPath: '/vendor/live-player' });
    session.opened(() => player.disconnect());
    // A playback error stops the player (it then reports Ended): the connection is what failed.
    player.on(Player.Event.Error, () => session.close('lost'));
    player.on(Player.Event.StateChanged, (state) => {
      if (state === Player.State.Ended) session.close('ended');
    });
    onElement(player.videoElement);
    player.play();
  });
}

export function watch(options) {
  return options.mode === 'live' ? watchLive(options) : watchRoom(options);
}
