// Naming the stream: the host types a title, sees at once the name it becomes and the audience
// link it gives ("My Talk!" → my-talk), and opens the studio with it. The last name is
// remembered for the next visit.
import { audienceLink, streamNameFrom } from '../stream-name.js';

const KEY = 'onair.host.stream';

export function wireNaming({ form, input, slug, onName }) {
  try {
    input.value = localStorage.getItem(KEY) ?? '';
  } catch {
    // No storage: start empty.
  }
  const update = () => {
    slug.value = audienceLink(streamNameFrom(input.value));
  };
  input.addEventListener('input', update);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = streamNameFrom(input.value);
    try {
      localStorage.setItem(KEY, input.value);
    } catch {
      // Not remembered.
    }
    onName(name);
  });
  update();
}
