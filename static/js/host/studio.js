// The studio of one stream: its room, opened with host_token before going live (the stream is
// `ready`: viewers who open the link join it and wait), and the stream's status read every few
// seconds: how many wait or watch, and whether the room is still this studio's (another studio
// with the same name replaces it; a studio left alone is closed after a while). A status answer
// may be a second or two old, so a room is not judged in its first seconds.
import * as api from '../api.js';

const POLL_MS = 2000;
const SETTLE_MS = 4000;

export function createStudio({ onViewers, onRoomGone }) {
  let login = null;
  let stream = null;
  let openedAt = 0;
  let timer = null;

  const poll = async () => {
    const mine = login;
    try {
      const status = await api.streamStatus(stream);
      if (login !== mine || !mine) return;
      if (typeof status.viewers === 'number') onViewers(status.viewers);
      if (status.room !== mine.room && Date.now() - openedAt > SETTLE_MS) {
        onRoomGone(status);
        return;
      }
    } catch {
      // A missed status read changes nothing: the next one comes.
    }
    if (login === mine) timer = setTimeout(poll, POLL_MS);
  };

  return {
    // The host_token answer of the open room: {token, room, stream, media, audience_url, ...}.
    get login() {
      return login;
    },
    // Opens a room for `name` (replacing one this page had); throws the ApiError of host_token.
    async open(session, name) {
      this.forget();
      stream = name;
      login = await api.hostToken(session, name);
      openedAt = Date.now();
      timer = setTimeout(poll, POLL_MS);
      return login;
    },
    // Stops following the room (it is left to the reaper, or was ended by the caller).
    forget() {
      clearTimeout(timer);
      login = null;
    },
    // The tab is closing: the room is ended now rather than by the reaper, so waiting viewers
    // hear at once that nothing is coming.
    closeWithPage() {
      if (login) api.stopOnPageClose(login.token);
      this.forget();
    },
  };
}
