// A stand-in for the meeting adapter (static/js/meeting/), served in its place by the page tests
// (page.route), never shipped: joinMeeting with the real interface, and `window.fakeMeeting` for
// the test to play the others in the call (join, leave, share, mute, speak, reconnect) with
// synthetic tracks (a canvas for video, an oscillator for sound), and to read what the page asked
// of the adapter (the tracks it gave, setMicEnabled, shareScreen, leave...).

let audio = null;
const context = () => (audio ??= new AudioContext());

// A moving picture with the person's name, so a screenshot shows whose tile is whose.
function videoTrack(label, colour, { width = 320, height = 180 } = {}) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext('2d');
  let frame = 0;
  const draw = () => {
    frame += 1;
    g.fillStyle = colour;
    g.fillRect(0, 0, width, height);
    g.fillStyle = '#ffffff';
    g.font = `${Math.round(height / 7)}px sans-serif`;
    g.fillText(label, 12, height / 2);
    g.fillRect((frame * 4) % width, height - 12, 24, 6);
  };
  draw();
  const track = canvas.captureStream(10).getVideoTracks()[0];
  const timer = setInterval(draw, 100);
  track.addEventListener('ended', () => clearInterval(timer));
  const stop = track.stop.bind(track);
  track.stop = () => {
    clearInterval(timer);
    stop();
  };
  return track;
}

// A tone whose loudness the test sets (0 = silence): speaking or not.
function audioTrack() {
  const ctx = context();
  const oscillator = ctx.createOscillator();
  const gain = ctx.createGain();
  gain.gain.value = 0;
  const out = ctx.createMediaStreamDestination();
  oscillator.connect(gain).connect(out);
  oscillator.start();
  const track = out.stream.getAudioTracks()[0];
  return { track, gain };
}

const COLOURS = ['#7b1fa2', '#00695c', '#ad1457', '#1565c0', '#6d4c41', '#2e7d32'];

const world = {
  options: null, // what the page passed to joinMeeting
  calls: [], // [name, ...args] of every call the page made on the call object
  left: 0,
  people: new Map(), // identity -> { name, tracks: {camera, mic, screen}, gain }
  // Set by a test before joining: joinMeeting rejects with this message.
  failWith: null,

  add(identity, name, { camera = true, mic = true } = {}) {
    const o = world.options;
    const person = { name, tracks: {}, gain: null };
    world.people.set(identity, person);
    o.onParticipant({ identity, name, local: false });
    if (camera) {
      person.tracks.camera = videoTrack(name, COLOURS[world.people.size % COLOURS.length]);
      o.onTrack(identity, 'camera', person.tracks.camera);
    }
    if (mic) {
      const { track, gain } = audioTrack();
      person.tracks.mic = track;
      person.gain = gain;
      o.onTrack(identity, 'mic', track);
    }
  },
  remove(identity) {
    const person = world.people.get(identity);
    world.people.delete(identity);
    for (const track of Object.values(person?.tracks ?? {})) track.stop();
    world.options.onParticipantLeft(identity);
  },
  share(identity) {
    const person = world.people.get(identity);
    person.tracks.screen = videoTrack(`${person.name}'s slides`, '#37474f', { width: 640, height: 360 });
    world.options.onTrack(identity, 'screen', person.tracks.screen);
  },
  unshare(identity) {
    const person = world.people.get(identity);
    person.tracks.screen?.stop();
    delete person.tracks.screen;
    world.options.onTrackGone(identity, 'screen');
  },
  mute(identity, kind, muted) {
    world.options.onMuted(identity, kind, muted);
  },
  speak(identity, loud) {
    world.people.get(identity).gain.gain.value = loud ? 0.5 : 0;
  },
  dominant(identity) {
    world.options.onDominantSpeaker(identity);
  },
  state(state, reason) {
    world.options.onState(state, reason);
  },
};
window.fakeMeeting = world;

export async function joinMeeting(options) {
  world.options = options;
  world.calls.push(['joinMeeting', options.token, options.room, options.identity]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  if (world.failWith) throw new Error(world.failWith);
  options.onParticipant({ identity: options.identity, name: 'me', local: true });
  options.onState('connected');
  const call = (name) => (...args) => {
    world.calls.push([name, ...args.map((a) => (a instanceof MediaStreamTrack ? `track:${a.kind}` : a))]);
  };
  return {
    setMicEnabled: call('setMicEnabled'),
    setCameraEnabled: call('setCameraEnabled'),
    shareScreen: async (track) => call('shareScreen')(track),
    stopScreen: call('stopScreen'),
    leave() {
      world.left += 1;
      call('leave')();
    },
  };
}
