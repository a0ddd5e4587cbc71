// The audience link in the studio: Copy (the clipboard, or selecting the text where the browser
// refuses), and Share where the browser has the Web Share API (phones, some desktops).

export function wireShareLink({ input, copy, share, note }) {
  const say = (text) => {
    note.textContent = text;
  };
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      say('Link copied. Paste it wherever your audience is.');
    } catch {
      input.focus();
      input.select();
      say('Press Ctrl+C (or ⌘C) to copy the selected link.');
    }
  });
  share.hidden = typeof navigator.share !== 'function';
  share.addEventListener('click', () => {
    navigator.share({ title: document.title, url: input.value }).catch(() => {
      // Closed without sharing: nothing to say.
    });
  });
  return {
    set(url) {
      input.value = url;
      say('');
    },
  };
}
