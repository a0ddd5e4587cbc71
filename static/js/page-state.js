// A page's state and its status line: one state at a time, written to `body[data-state]` for
// the styles; every element with `data-when="state1 state2"` is shown only in those states; the
// one `role="status"` line says what is happening in words (changed only when the words change,
// so a screen reader hears each change once).

export function pageState(status) {
  const parts = [...document.querySelectorAll('[data-when]')].map((element) => ({
    element,
    states: element.dataset.when.split(/\s+/),
  }));
  let current = document.body.dataset.state;
  const say = (text) => {
    if (status.textContent !== text) status.textContent = text;
  };
  return {
    get current() {
      return current;
    },
    set(state, text) {
      current = state;
      document.body.dataset.state = state;
      for (const { element, states } of parts) element.hidden = !states.includes(state);
      if (text !== undefined) say(text);
    },
    say,
  };
}
