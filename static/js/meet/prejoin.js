// Before joining: the camera and microphone preview, the choice of devices (remembered on this
// device), the level meter, and the two toggles to join muted or without video. It owns the local
// tracks until the call takes them (handOver), and stops them if the person never joins.
import { levelOf } from './levels.js';

const CAMERA = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };
const MIC = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const CHOICE = { camera: 'onair.meet.camera', mic: 'onair.meet.mic' };

const stored = (key) => {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
};
const store = (key, value) => {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage blocked: the browser's default device next time.
  }
};

// What a failed getUserMedia means to a person.
function deviceProblem(error) {
  switch (error?.name) {
    case 'NotAllowedError':
      return 'The browser may not use your camera or microphone. Allow them in the site settings (the icon left of the address), then reload, or join without them.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera or microphone was found. You can still join and listen.';
    case 'NotReadableError':
    case 'AbortError':
      return 'Your camera or microphone is busy in another app. Close it and pick the device again, or join without it.';
    default:
      return `The camera or microphone could not start (${error?.name ?? 'unknown error'}).`;
  }
}

async function capture(kind, deviceId) {
  const base = kind === 'camera' ? CAMERA : MIC;
  const constraints = deviceId ? { ...base, deviceId: { exact: deviceId } } : base;
  const stream = await navigator.mediaDevices.getUserMedia(kind === 'camera' ? { video: constraints } : { audio: constraints });
  return stream.getTracks()[0];
}

// A toggle button that keeps its label: pressed = the device is off.
export function setToggle(button, off) {
  button.setAttribute('aria-pressed', String(off));
}

export function createPrejoin({ video, note, micToggle, camToggle, cameraSelect, micSelect, meterBar, onProblem }) {
  const tracks = { camera: null, mic: null };
  const off = { camera: false, mic: false };
  let meter = null;
  let meterTimer = null;
  const problems = { camera: '', mic: '' };

  const tell = () => onProblem([...new Set([problems.camera, problems.mic].filter(Boolean))].join(' '));

  function showPreview() {
    const camera = tracks.camera;
    video.srcObject = camera ? new MediaStream([camera]) : null;
    const hidden = !camera || off.camera;
    video.hidden = hidden;
    note.hidden = !hidden;
    note.textContent = camera ? 'Camera is off' : 'No camera';
    setToggle(camToggle, off.camera || !camera);
    setToggle(micToggle, off.mic || !tracks.mic);
    camToggle.disabled = !camera;
    micToggle.disabled = !tracks.mic;
  }

  function watchLevel() {
    meter?.close();
    meter = tracks.mic ? levelOf(tracks.mic) : null;
    clearInterval(meterTimer);
    meterTimer = setInterval(() => {
      const level = meter ? Math.min(1, meter.level() * 6) : 0;
      meterBar.style.transform = `scaleX(${level.toFixed(3)})`;
    }, 100);
  }

  // Bumped when the preview gives up its tracks (release, handOver): a capture that was still
  // opening then is stopped when it arrives instead of being kept.
  let generation = 0;

  async function openDevice(kind, deviceId) {
    tracks[kind]?.stop();
    tracks[kind] = null;
    const mine = generation;
    try {
      const track = await capture(kind, deviceId);
      if (mine !== generation) {
        track.stop();
        return;
      }
      track.enabled = !off[kind];
      tracks[kind]?.stop(); // a quicker capture of the same kind that arrived meanwhile
      tracks[kind] = track;
      problems[kind] = '';
      store(CHOICE[kind], track.getSettings().deviceId ?? '');
    } catch (error) {
      problems[kind] = deviceProblem(error);
    }
  }

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    for (const [kind, select, type] of [
      ['camera', cameraSelect, 'videoinput'],
      ['mic', micSelect, 'audioinput'],
    ]) {
      const current = tracks[kind]?.getSettings().deviceId;
      const options = devices.filter((d) => d.kind === type && d.deviceId);
      select.replaceChildren(
        ...options.map((d, i) => new Option(d.label || `${kind === 'camera' ? 'Camera' : 'Microphone'} ${i + 1}`, d.deviceId, false, d.deviceId === current)),
      );
      if (!options.length) select.append(new Option(kind === 'camera' ? 'No camera' : 'No microphone', ''));
      select.disabled = options.length < 1;
    }
  }

  let starting = Promise.resolve();
  async function openAll() {
    const mine = generation;
    // Both at once when both are remembered or unknown: one permission prompt for the two.
    await Promise.all([openDevice('camera', stored(CHOICE.camera)), openDevice('mic', stored(CHOICE.mic))]);
    // A remembered device that is gone: fall back to the default one.
    for (const kind of ['camera', 'mic']) {
      if (mine === generation && !tracks[kind] && stored(CHOICE[kind])) {
        store(CHOICE[kind], '');
        await openDevice(kind, null);
      }
    }
    if (mine !== generation) return; // released meanwhile
    showPreview();
    watchLevel();
    tell();
    await listDevices();
  }
  function start() {
    starting = openAll();
    return starting;
  }

  const change = (kind) => async (event) => {
    await openDevice(kind, event.target.value);
    showPreview();
    if (kind === 'mic') watchLevel();
    tell();
  };
  cameraSelect.addEventListener('change', change('camera'));
  micSelect.addEventListener('change', change('mic'));
  navigator.mediaDevices?.addEventListener?.('devicechange', () => listDevices());

  const toggle = (kind) => () => {
    if (!tracks[kind]) return;
    off[kind] = !off[kind];
    tracks[kind].enabled = !off[kind];
    showPreview();
  };
  micToggle.addEventListener('click', toggle('mic'));
  camToggle.addEventListener('click', toggle('camera'));

  function stopMeter() {
    clearInterval(meterTimer);
    meter?.close();
    meter = null;
    meterBar.style.transform = 'scaleX(0)';
  }

  return {
    start,
    // The tracks and their on/off state, now owned by the caller (the call stops them); waits for
    // a preview still starting (a person who joins before the camera is up joins with it).
    async handOver() {
      await starting;
      generation += 1;
      stopMeter();
      video.srcObject = null;
      const taken = { tracks: { ...tracks }, micOn: !!tracks.mic && !off.mic, cameraOn: !!tracks.camera && !off.camera };
      tracks.camera = null;
      tracks.mic = null;
      return taken;
    },
    // Stops everything the preview opened (the page is left without joining).
    release() {
      generation += 1;
      stopMeter();
      for (const kind of ['camera', 'mic']) {
        tracks[kind]?.stop();
        tracks[kind] = null;
      }
      video.srcObject = null;
    },
    // Keeps the on/off choices of the last call for the next preview (rejoin).
    remember({ micOn, cameraOn }) {
      off.mic = !micOn;
      off.camera = !cameraOn;
    },
  };
}
