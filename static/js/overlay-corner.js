// The webcam overlay's corner, movable so it never hides what matters on the screen: drag it
// and it snaps to the nearest corner; on its handle, the arrow keys move it towards that side
// and Enter or a click moves it to the next corner clockwise. Each page remembers its choice.
// The corner is the page's own layout: the host's choice shows in the host's preview, each
// viewer chooses theirs (the media carries no layout).

const CORNERS = ['top-left', 'top-right', 'bottom-right', 'bottom-left'];
const WORDS = { 'top-left': 'top left', 'top-right': 'top right', 'bottom-right': 'bottom right', 'bottom-left': 'bottom left' };
// A press that moves the pointer less than this is a click, not a drag.
const DRAG_PX = 6;

function remembered(key) {
  try {
    const corner = localStorage.getItem(key);
    return CORNERS.includes(corner) ? corner : 'bottom-right';
  } catch {
    return 'bottom-right';
  }
}

// Arrow keys: up/down pick the row, left/right the column, the other half stays.
function towards(corner, key) {
  const [row, column] = corner.split('-');
  if (key === 'ArrowUp') return `top-${column}`;
  if (key === 'ArrowDown') return `bottom-${column}`;
  if (key === 'ArrowLeft') return `${row}-left`;
  if (key === 'ArrowRight') return `${row}-right`;
  return null;
}

export function movableCorner(overlay, handle, key) {
  let corner = remembered(key);
  const show = () => {
    overlay.dataset.corner = corner;
    handle.setAttribute('aria-label', `Move the webcam picture (now ${WORDS[corner]}; arrow keys choose a corner)`);
  };
  const moveTo = (next) => {
    corner = next;
    try {
      localStorage.setItem(key, next);
    } catch {
      // Private mode: the choice lasts for this page only.
    }
    show();
  };

  handle.addEventListener('click', () => moveTo(CORNERS[(CORNERS.indexOf(corner) + 1) % CORNERS.length]));
  handle.addEventListener('keydown', (event) => {
    const next = towards(corner, event.key);
    if (!next) return;
    event.preventDefault();
    moveTo(next);
  });

  overlay.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 || handle.contains(event.target)) return;
    const start = { x: event.clientX, y: event.clientY };
    let dragging = false;
    overlay.setPointerCapture(event.pointerId);
    const move = (e) => {
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (!dragging && Math.hypot(dx, dy) < DRAG_PX) return;
      dragging = true;
      overlay.classList.add('dragging');
      overlay.style.transform = `translate(${dx}px, ${dy}px)`;
    };
    const end = (e) => {
      overlay.removeEventListener('pointermove', move);
      overlay.removeEventListener('pointerup', end);
      overlay.removeEventListener('pointercancel', end);
      overlay.classList.remove('dragging');
      if (!dragging) return;
      // The corner nearest to where the overlay's centre was let go.
      const box = overlay.getBoundingClientRect();
      const area = overlay.parentElement.getBoundingClientRect();
      const x = box.left + box.width / 2 - area.left < area.width / 2 ? 'left' : 'right';
      const y = box.top + box.height / 2 - area.top < area.height / 2 ? 'top' : 'bottom';
      overlay.style.transform = '';
      if (e.type === 'pointerup') moveTo(`${y}-${x}`);
    };
    overlay.addEventListener('pointermove', move);
    overlay.addEventListener('pointerup', end);
    overlay.addEventListener('pointercancel', end);
  });

  show();
}
