// The audience's stage: the host's screen, with the sound, in the large video; the webcam in the
// small overlay once its frames arrive; in live mode the Live Player's own element in place of
// the large video. Each session starts a fresh picture (begin()); the last frame of the one
// before stays until then, so a reconnect does not flash black.

export function createStage({ stage, screen, camera, overlay }) {
  let video = screen;
  let showCamera = null;
  let fresh = false;

  const clear = () => {
    if (video !== screen) video.replaceWith(screen);
    video = screen;
    // No empty MediaStream here: a media element with one delays the page's load event forever.
    screen.srcObject = null;
    camera.srcObject = null;
    overlay.hidden = true;
    if (showCamera) showCamera.track.removeEventListener('unmute', showCamera.show);
    showCamera = null;
  };

  return {
    // The element that plays the picture and the sound now.
    get video() {
      return video;
    },

    // A new session: its first track replaces the picture there (the webcam hides until its
    // frames arrive).
    begin() {
      fresh = true;
      overlay.hidden = true;
    },

    // One track of the session: 'screen' or 'audio' into the large video (another screen
    // replaces the one before), 'camera' into the overlay.
    attach(kind, track) {
      if (kind === 'camera') {
        camera.srcObject = new MediaStream([track]);
        // Shown once frames arrive: a host without a webcam sends nothing here.
        const show = () => {
          overlay.hidden = false;
        };
        if (showCamera) showCamera.track.removeEventListener('unmute', showCamera.show);
        showCamera = { track, show };
        track.addEventListener('unmute', show, { once: true });
        if (!track.muted) show();
        return;
      }
      if (fresh || !screen.srcObject) screen.srcObject = new MediaStream();
      fresh = false;
      const stream = screen.srcObject;
      if (kind === 'screen') for (const old of stream.getVideoTracks()) stream.removeTrack(old);
      stream.addTrack(track);
      screen.play().catch(() => {});
    },

    // Live mode: the Live Player plays into an element of its own.
    showElement(element) {
      element.muted = screen.muted;
      element.volume = screen.volume;
      element.playsInline = true;
      screen.replaceWith(element);
      video = element;
    },

    // Nothing to show (the stream is over, or not started).
    clear,

    // Whether a picture is shown: the stage turns to the picture's dark letterbox.
    picture(shown) {
      stage.classList.toggle('has-picture', shown);
    },
  };
}
