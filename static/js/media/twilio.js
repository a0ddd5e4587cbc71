// The production media path: Twilio Programmable Video (room mode, and the host in live mode)
// and the Twilio Live Player (viewers in live mode), from the SDKs vendored into /vendor.
// Same interface as whip.js: publish() for the host, watch() for a viewer.

// The SDKs are loaded only when this path is used, so the WHIP path never downloads them.
const scripts = new Map();
function load(src) {
  if (!scripts.has(src)) {
    scripts.set(
      src,
      new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = src;
        script.onload = resolve;
        script.onerror = () => reject(new Error('The video library could not be loaded.'));
        document.head.append(script);
      }),
    );
  }
  return scripts.get(src);
}

async function sdk() {
  await load('/vendor/twilio-video.min.js');
  return window.Twilio.Video;
}

// Host: joins the room with the screen, the microphone and the optional webcam, named so
// viewers can tell them apart.
export async function publish({ token, room, tracks, onState, onViewers }) {
  const Video = await sdk();
  const local = [new Video.LocalVideoTrack(tracks.screen, { name: 'screen' })];
  if (tracks.mic) local.push(new Video.LocalAudioTrack(tracks.mic, { name: 'mic' }));
  if (tracks.camera) local.push(new Video.LocalVideoTrack(tracks.camera, { name: 'camera' }));
  const connected = await Video.connect(token, { name: room, tracks: local });
  const count = () => onViewers(connected.participants.size);
  connected.on('participantConnected', count);
  connected.on('participantDisconnected', count);
  connected.on('reconnecting', () => onState('reconnecting'));
  connected.on('reconnected', () => onState('live'));
  connected.on('disconnected', () => onState('ended'));
  count();
  return {
    stop() {
      connected.disconnect();
    },
  };
}

// Viewer, room mode: joins subscribe-only (no tracks, no automatic subscription), then asks the
// back end to subscribe it to the presenter.
async function watchRoom({ token, room, presenter, onTrack, onViewers, onEnded, subscribe }) {
  const Video = await sdk();
  const connected = await Video.connect(token, { name: room, automaticSubscription: false, tracks: [] });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    connected.disconnect();
    onEnded();
  };
  const kindOf = (track) => (track.kind === 'audio' ? 'audio' : track.name === 'camera' ? 'camera' : 'screen');
  const follow = (participant) => {
    if (participant.identity !== presenter) return;
    participant.on('trackSubscribed', (track) => onTrack(kindOf(track), track.mediaStreamTrack));
    participant.tracks.forEach((publication) => {
      if (publication.track) onTrack(kindOf(publication.track), publication.track.mediaStreamTrack);
    });
  };
  const count = () => onViewers(connected.participants.size);
  connected.participants.forEach(follow);
  connected.on('participantConnected', (p) => {
    follow(p);
    count();
  });
  connected.on('participantDisconnected', (p) => {
    if (p.identity === presenter) end();
    else count();
  });
  connected.on('disconnected', end);
  count();
  await subscribe();
  return {
    stop() {
      ended = true;
      connected.disconnect();
    },
  };
}

// Viewer, live mode: the Twilio Live Player with the PlaybackGrant inside the token.
async function watchLive({ token, onElement, onEnded }) {
  await load('/vendor/live-player/twilio-live-player.min.js');
  const { Player } = window.Twilio.Live;
  const player = await Player.connect(token, { playerWasmAssetsPath: '/vendor/live-player' });
  player.on(Player.Event.StateChanged, (state) => {
    if (state === Player.State.Ended) onEnded();
  });
  onElement(player.videoElement);
  player.play();
  return {
    stop() {
      player.disconnect();
    },
  };
}

export function watch(options) {
  return options.mode === 'live' ? watchLive(options) : watchRoom(options);
}
