// The viewer's controls, all reachable by keyboard: mute (a toggle that keeps its label) and
// volume, the unmute prompt on the picture itself (the page starts muted, as browsers require
// for playing by itself), full screen (button, double-click on the picture, key F),
// picture-in-picture (button, key I; only where the browser has it), key M for mute. The
// choices carry over to the next stream; if the browser refuses to play with sound, the page
// falls back to muted and shows the prompt again.

export function wireControls({ player, stage, videoOf, mute, volume, prompt, fullscreen, pip, active }) {
  let muted = true;
  let level = Number(volume.value) / 100;
  let promptDismissed = false;

  const apply = () => {
    const video = videoOf();
    video.muted = muted;
    video.volume = level;
    mute.setAttribute('aria-pressed', String(muted));
    volume.value = String(Math.round(level * 100));
    volume.setAttribute('aria-valuetext', muted ? 'muted' : `${Math.round(level * 100)} percent`);
    prompt.hidden = !(muted && !promptDismissed && active());
  };

  const setMuted = (value) => {
    muted = value;
    if (!muted && level === 0) level = 1;
    apply();
    if (!muted) {
      videoOf()
        .play()
        .catch(() => {
          // Sound refused without a gesture: back to muted, and ask again on the picture.
          muted = true;
          promptDismissed = false;
          apply();
        });
    }
  };

  prompt.addEventListener('click', () => {
    promptDismissed = true;
    setMuted(false);
    mute.focus();
  });
  mute.addEventListener('click', () => {
    promptDismissed = true;
    setMuted(!muted);
  });
  volume.addEventListener('input', () => {
    level = Number(volume.value) / 100;
    promptDismissed = true;
    setMuted(level === 0);
  });

  // Full screen: the whole player (picture and controls), turned to landscape where the device
  // allows it (phones), or the video alone where only that can go full screen (iOS Safari).
  const toggleFullscreen = () => {
    if (document.fullscreenElement) return document.exitFullscreen().catch(() => {});
    if (player.requestFullscreen && document.fullscreenEnabled) {
      return player
        .requestFullscreen()
        .then(() => screen.orientation?.lock?.('landscape'))
        .catch(() => {
          // No full screen, or a screen that does not turn (desktops): the picture as it is.
        });
    }
    return videoOf().webkitEnterFullscreen?.();
  };
  fullscreen.addEventListener('click', toggleFullscreen);
  document.addEventListener('fullscreenchange', () => {
    fullscreen.setAttribute('aria-pressed', String(document.fullscreenElement === player));
  });
  stage.addEventListener('dblclick', (event) => {
    if (event.target.closest('button, .overlay')) return;
    toggleFullscreen();
  });

  pip.hidden = !document.pictureInPictureEnabled;
  const togglePip = () => {
    if (!document.pictureInPictureEnabled) return undefined;
    if (document.pictureInPictureElement) return document.exitPictureInPicture().catch(() => {});
    return videoOf()
      .requestPictureInPicture()
      .catch(() => {});
  };
  pip.addEventListener('click', togglePip);
  const pipChanged = () => pip.setAttribute('aria-pressed', String(Boolean(document.pictureInPictureElement)));
  document.addEventListener('enterpictureinpicture', pipChanged, true);
  document.addEventListener('leavepictureinpicture', pipChanged, true);

  document.addEventListener('keydown', (event) => {
    if (!active() || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.('input:not([type="range"]), select, textarea')) return;
    const key = event.key.toLowerCase();
    if (key === 'f') toggleFullscreen();
    else if (key === 'm') {
      promptDismissed = true;
      setMuted(!muted);
    } else if (key === 'i') togglePip();
    else return;
    event.preventDefault();
  });

  apply();
  return {
    // Called when the picture changes (a new session, the Live Player's element) or the page's
    // state does: the element gets the viewer's sound settings, the prompt shows when it should.
    refresh: apply,
    // Leaving picture-in-picture when the picture goes away.
    leavePictureInPicture() {
      if (document.pictureInPictureElement) document.exitPictureInPicture().catch(() => {});
    },
  };
}
