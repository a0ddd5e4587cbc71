// The page's one live region (role="status"): short notices that fade after a few seconds
// ("Ana joined", "You are muted"), and lasting states that stay until they end ("Reconnecting…").
// A notice during a lasting state is shown, then the state comes back.

const NOTICE_MS = 5000;

export function createStatus(el) {
  let lasting = '';
  let timer = null;

  const show = (text) => {
    if (el.textContent !== text) el.textContent = text;
    el.classList.toggle('lasting', !!lasting && text === lasting);
  };

  return {
    // A short notice.
    notice(text) {
      clearTimeout(timer);
      show(text);
      timer = setTimeout(() => show(lasting), NOTICE_MS);
    },
    // A state that stays until replaced or cleared with ''.
    lasting(text) {
      clearTimeout(timer);
      lasting = text;
      show(text);
    },
    clear() {
      clearTimeout(timer);
      lasting = '';
      show('');
    },
  };
}
