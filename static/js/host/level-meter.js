// A microphone level meter: the RMS of the track's samples (Web Audio AnalyserNode), shown on a
// `role="meter"` bar ten times a second. The AudioContext is made on the first use; a browser
// that starts it suspended (no click yet) gets it resumed at the next click or key press.

const UPDATE_MS = 100;
// dBFS shown: -60 (empty) to 0 (full).
const FLOOR_DB = -60;

export function levelMeter(meter) {
  const bar = meter.firstElementChild;
  let context = null;
  let source = null;
  let analyser = null;
  let timer = null;
  let samples = null;

  const show = (value) => {
    bar.style.transform = `scaleX(${value / 100})`;
    meter.setAttribute('aria-valuenow', String(value));
  };
  const resume = () => context?.resume().catch(() => {});

  return {
    follow(track) {
      this.stop();
      if (!track) return;
      context ??= new AudioContext();
      if (context.state === 'suspended') {
        document.addEventListener('pointerdown', resume, { once: true });
        document.addEventListener('keydown', resume, { once: true });
      }
      source = context.createMediaStreamSource(new MediaStream([track]));
      analyser = context.createAnalyser();
      analyser.fftSize = 1024;
      samples = new Float32Array(analyser.fftSize);
      source.connect(analyser);
      timer = setInterval(() => {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const sample of samples) sum += sample * sample;
        const rms = Math.sqrt(sum / samples.length);
        const db = rms > 0 ? 20 * Math.log10(rms) : FLOOR_DB;
        show(Math.round(Math.min(1, Math.max(0, (db - FLOOR_DB) / -FLOOR_DB)) * 100));
      }, UPDATE_MS);
    },
    stop() {
      clearInterval(timer);
      source?.disconnect();
      source = null;
      analyser = null;
      show(0);
    },
  };
}
