// Audio levels from microphone tracks, for the level meter before joining and the speaking
// highlight in the call (the local relay has no dominant-speaker event; with Twilio the page
// shows both). One AudioContext for the page; an AnalyserNode per track, read a few times a
// second. A remote WebRTC track gives WebAudio silence unless it also plays in a media element,
// which the call does (its <audio> elements).

const SPEAKING_LEVEL = 0.02; // RMS of the samples; fake and real voices are far above, silence 0
const HOLD_MS = 700; // a highlight stays this long after the voice stops, so it does not flicker

let context = null;

// The page's AudioContext, created at the first use and resumed after a person's gesture
// (Chrome starts it suspended without one).
export function audioContext() {
  if (!context) {
    context = new AudioContext();
    const resume = () => context.resume().catch(() => {});
    for (const event of ['pointerdown', 'keydown']) addEventListener(event, resume, { capture: true });
  }
  return context;
}

// A level reader for one track: level() is the RMS of the latest samples (0 to 1).
export function levelOf(track) {
  const ctx = audioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  return {
    level() {
      if (!track.enabled || track.readyState !== 'live') return 0;
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      return Math.sqrt(sum / samples.length);
    },
    close() {
      source.disconnect();
    },
  };
}

// Who is speaking: watch(key, track) / unwatch(key); onChange(key, speaking) when a key starts or
// stops (with a hold, so pauses between words do not flicker). stop() releases everything.
export function speakingWatcher(onChange, everyMs = 150) {
  const watched = new Map(); // key -> { meter, speaking, lastLoud }
  const timer = setInterval(() => {
    const now = performance.now();
    for (const [key, entry] of watched) {
      if (entry.meter.level() >= SPEAKING_LEVEL) entry.lastLoud = now;
      const speaking = now - entry.lastLoud < HOLD_MS;
      if (speaking !== entry.speaking) {
        entry.speaking = speaking;
        onChange(key, speaking);
      }
    }
  }, everyMs);
  const unwatch = (key) => {
    const entry = watched.get(key);
    if (!entry) return;
    watched.delete(key);
    entry.meter.close();
    if (entry.speaking) onChange(key, false);
  };
  return {
    watch(key, track) {
      unwatch(key);
      watched.set(key, { meter: levelOf(track), speaking: false, lastLoud: -Infinity });
    },
    unwatch,
    stop() {
      clearInterval(timer);
      for (const key of [...watched.keys()]) unwatch(key);
    },
  };
}
