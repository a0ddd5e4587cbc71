// The studio's microphone and webcam: two pickers filled with the devices the browser reports
// (their names once the host allowed the microphone), the chosen tracks opened at once, the
// microphone on a level meter and the webcam previewed where viewers will see it (the stage's
// overlay). Choices are remembered for the next visit; while live the pickers are locked (the
// tracks are on air).
import { levelMeter } from './level-meter.js';

const NONE = 'none';
const KEYS = { mic: 'onair.host.mic', camera: 'onair.host.camera' };
const CAMERA = { width: { ideal: 480 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };

function remembered(key, fallback) {
  try {
    return localStorage.getItem(key) ?? fallback;
  } catch {
    return fallback;
  }
}

function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not remembered.
  }
}

async function open(kind, choice) {
  const constraints =
    kind === 'mic'
      ? { audio: choice === 'default' ? true : { deviceId: { exact: choice } } }
      : { video: choice === 'default' ? CAMERA : { ...CAMERA, deviceId: { exact: choice } } };
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  return stream.getTracks()[0];
}

export function createDevices({ micSelect, cameraSelect, cameraNote, meterElement, cameraPreview, cameraOverlay, note }) {
  const meter = levelMeter(meterElement);
  const tracks = { mic: null, camera: null };
  const problems = { mic: '', camera: '' };
  const choice = { mic: remembered(KEYS.mic, 'default'), camera: remembered(KEYS.camera, NONE) };
  // The webcam is off where the stream carries one picture (ivs mode); the choice is kept for
  // the other modes. Until `allowCamera` says what the mode allows, no webcam opens and the
  // picker waits, disabled.
  let cameraAllowed = false;
  let cameraKnown = false;
  let locked = false;
  // Each choice counts up, so a slow device that opens after a newer choice is dropped.
  const generations = { mic: 0, camera: 0 };

  const say = () => {
    note.textContent = [problems.mic, problems.camera].filter(Boolean).join(' ');
  };

  const fill = async () => {
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    const options = (select, kind, none, label) => {
      const found = devices.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== 'default');
      const entries = [
        [NONE, none],
        ['default', kind === 'audioinput' ? 'Default microphone' : 'Default webcam'],
        ...found.map((d, i) => [d.deviceId, d.label || `${label} ${i + 1}`]),
      ];
      select.replaceChildren(...entries.map(([value, text]) => new Option(text, value)));
    };
    options(micSelect, 'audioinput', 'No microphone', 'Microphone');
    options(cameraSelect, 'videoinput', 'No webcam', 'Webcam');
    micSelect.value = choice.mic;
    if (micSelect.value !== choice.mic) micSelect.value = 'default';
    cameraSelect.value = cameraAllowed ? choice.camera : NONE;
    if (cameraSelect.value !== choice.camera) cameraSelect.value = NONE;
  };

  const use = async (kind, value) => {
    const mine = ++generations[kind];
    tracks[kind]?.stop();
    tracks[kind] = null;
    problems[kind] = '';
    if (value !== NONE) {
      try {
        const track = await open(kind, value);
        if (mine !== generations[kind]) {
          track.stop();
          return;
        }
        tracks[kind] = track;
      } catch (error) {
        if (mine !== generations[kind]) return;
        problems[kind] =
          kind === 'mic'
            ? `The microphone is unavailable (${error.name}): you would go live without sound.`
            : `The webcam is unavailable (${error.name}).`;
      }
    }
    if (kind === 'mic') meter.follow(tracks.mic);
    else {
      cameraPreview.srcObject = tracks.camera ? new MediaStream([tracks.camera]) : null;
      cameraOverlay.hidden = !tracks.camera;
    }
    say();
  };

  micSelect.addEventListener('change', () => {
    choice.mic = micSelect.value;
    remember(KEYS.mic, choice.mic);
    use('mic', choice.mic);
  });
  cameraSelect.addEventListener('change', () => {
    choice.camera = cameraSelect.value;
    remember(KEYS.camera, choice.camera);
    use('camera', choice.camera);
  });

  return {
    tracks,
    // Opens the chosen microphone (asking the browser's permission the first time) and lists the
    // devices; the webcam waits for `allowCamera`, once the mode is known.
    async open() {
      cameraKnown = false;
      cameraSelect.disabled = true;
      await fill();
      await use('mic', micSelect.value);
      // With permission given, the devices have names now.
      await fill();
    },
    lock(lock) {
      locked = lock;
      micSelect.disabled = locked;
      cameraSelect.disabled = locked || !cameraKnown || !cameraAllowed;
    },
    // Allows the webcam (the remembered one opened) or turns it off (its track stopped, the
    // picker disabled on "No webcam", `cameraNote` saying why and describing the picker only
    // then: a hidden note would still be read through aria-describedby).
    allowCamera(allowed) {
      if (cameraKnown && allowed === cameraAllowed) return undefined;
      cameraKnown = true;
      cameraAllowed = allowed;
      cameraSelect.disabled = locked || !allowed;
      cameraNote.hidden = allowed;
      if (allowed) cameraSelect.removeAttribute('aria-describedby');
      else cameraSelect.setAttribute('aria-describedby', cameraNote.id);
      cameraSelect.value = allowed ? choice.camera : NONE;
      if (cameraSelect.value !== choice.camera && allowed) cameraSelect.value = NONE;
      return use('camera', cameraSelect.value);
    },
    close() {
      meter.stop();
      for (const kind of ['mic', 'camera']) {
        tracks[kind]?.stop();
        tracks[kind] = null;
      }
      cameraPreview.srcObject = null;
      cameraOverlay.hidden = true;
    },
  };
}
