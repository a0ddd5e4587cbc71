// Whether pictures are arriving: each <video> reports every frame it presents
// (requestVideoFrameCallback; where a browser lacks it, the playback clock moving). The first
// frame after none calls onFrames(); no frame on any of them for STALL_MS calls onStall().
// A hidden page presents no frames, so it is not judged while hidden (unless the picture is
// shown in picture-in-picture), and it gets a fresh STALL_MS once it is visible again.

const STALL_MS = 3000;
const CHECK_MS = 250;

export function watchFrames(videos, { onFrames, onStall, stallMs = STALL_MS }) {
  let stopped = false;
  let arriving = false;
  let last = 0;
  const seen = () => {
    last = performance.now();
    if (!arriving) {
      arriving = true;
      onFrames();
    }
  };

  const clocks = new Map();
  for (const video of videos) {
    if ('requestVideoFrameCallback' in video) {
      const next = () => {
        if (stopped) return;
        seen();
        video.requestVideoFrameCallback(next);
      };
      video.requestVideoFrameCallback(next);
    } else {
      clocks.set(video, video.currentTime);
    }
  }

  const judged = () => document.visibilityState === 'visible' || Boolean(document.pictureInPictureElement);
  const onVisible = () => {
    if (document.visibilityState === 'visible') last = performance.now();
  };
  document.addEventListener('visibilitychange', onVisible);

  const timer = setInterval(() => {
    for (const [video, time] of clocks) {
      if (video.currentTime !== time) {
        clocks.set(video, video.currentTime);
        seen();
      }
    }
    if (arriving && judged() && performance.now() - last > stallMs) {
      arriving = false;
      onStall();
    }
  }, CHECK_MS);

  return {
    get arriving() {
      return arriving;
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}
