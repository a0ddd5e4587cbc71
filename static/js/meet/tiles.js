// The tiles of the call: one camera tile per person (video, or an initial when the camera is off;
// the name with muted-microphone and camera-off marks; a ring while they speak), a screen tile per
// shared screen, and each remote person's sound in a hidden <audio>. A tile is a toggle button:
// a click, Enter or Space pins it large (the others move to a strip) and again restores the
// gallery. A screen someone else shares is pinned when it starts; anyone may unpin it. The gallery
// is sized by layout.js to fill the space.
import { galleryShape } from './layout.js';

const SVG = 'http://www.w3.org/2000/svg';
const GAP = 8; // between tiles, as meet.css has it
let serial = 0;

function icon(name, className = 'icon') {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', className);
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS(SVG, 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.append(use);
  return svg;
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

// A mark in the name tag: an icon and its words for a screen reader (the tile's description).
function mark(className, iconName, words) {
  const el = element('span', `mark ${className}`);
  el.hidden = true;
  el.append(icon(iconName), element('span', 'visually-hidden', words));
  return el;
}

const initialOf = (name) => [...name.trim()][0]?.toUpperCase() ?? '?';

// A stable colour (one of a few with white text at more than 4.5:1) for a person's initial.
const AVATAR_COLOURS = 6;
const colourOf = (identity) => [...identity].reduce((h, c) => (h * 31 + c.codePointAt(0)) >>> 0, 7) % AVATAR_COLOURS;

// One tile's elements and the state they show.
function createTile({ key, identity, label, kind, local }) {
  const id = `tile-${++serial}`;
  const el = element('div', `tile ${kind}`);
  el.dataset.key = key;
  el.tabIndex = 0;
  el.setAttribute('role', 'button');
  el.setAttribute('aria-pressed', 'false');
  el.setAttribute('aria-label', `Pin ${label}`);
  el.setAttribute('aria-describedby', `${id}-tag`);
  const video = element('video');
  video.autoplay = true;
  video.muted = true; // sound plays from the person's <audio>
  video.playsInline = true;
  if (local && kind === 'camera') video.classList.add('mirrored');
  const avatar = element('div', `avatar colour-${colourOf(identity)}`);
  avatar.setAttribute('aria-hidden', 'true');
  // The initial is drawn by CSS (attr), so the tile's only text is its name tag, which its
  // accessible name ("Pin <name>") contains.
  const initial = element('span', 'initial');
  if (kind === 'screen') initial.append(icon('screen'));
  else initial.dataset.initial = initialOf(label);
  avatar.append(initial);
  const tag = element('div', 'tag');
  tag.id = `${id}-tag`;
  const micOff = mark('mic-off', 'mic-off', 'microphone off, ');
  const camOff = mark('cam-off', 'cam-off', 'camera off, ');
  tag.append(micOff, camOff, element('span', 'name', label));
  const pinBadge = element('span', 'pin-badge');
  pinBadge.append(icon('pin'));
  el.append(video, avatar, tag, pinBadge);
  // Video is shown once frames arrive; until then (and with the camera off) the initial.
  video.addEventListener('loadeddata', () => el.classList.add('has-frames'));
  video.addEventListener('emptied', () => el.classList.remove('has-frames'));
  return { key, identity, kind, el, video, micOff, camOff };
}

function play(video, track) {
  const current = video.srcObject?.getVideoTracks()[0];
  if (current === track) return;
  video.srcObject = track ? new MediaStream([track]) : null;
  if (track) video.play().catch(() => {}); // autoplay may refuse before the first gesture; muted video does not
}

// Moves an element keeping its focus (and its media playing): moveBefore where the browser has it.
function moveInto(parent, el, before = null) {
  const hadFocus = document.activeElement === el;
  if (parent.moveBefore && el.isConnected) parent.moveBefore(el, before);
  else parent.insertBefore(el, before);
  if (hadFocus && document.activeElement !== el) el.focus({ preventScroll: true });
}

export function createTiles({ container, stage, grid, audioBox }) {
  const people = new Map(); // identity -> { name, local, camera: tile, screen: tile|null, audio }
  const order = []; // tiles in the order they appeared (the gallery's order)
  let pinned = null; // a tile's key

  const label = (person, kind) => {
    if (kind === 'screen') return person.local ? 'Your screen' : `${person.name}'s screen`;
    return person.local ? `${person.name} (you)` : person.name;
  };

  function byKey(key) {
    return order.find((t) => t.key === key) ?? null;
  }

  function layout() {
    const pinnedTile = byKey(pinned);
    container.classList.toggle('has-pin', !!pinnedTile);
    stage.hidden = !pinnedTile;
    if (pinnedTile && pinnedTile.el.parentNode !== stage) moveInto(stage, pinnedTile.el);
    // The rest in order (the gallery, or the strip beside the pinned tile); the DOM order is the
    // visual order, so Tab moves through tiles as they appear. Only misplaced tiles move.
    let cursor = grid.firstChild;
    for (const tile of order) {
      tile.el.setAttribute('aria-pressed', String(tile === pinnedTile));
      tile.el.classList.toggle('pinned', tile === pinnedTile);
      if (tile === pinnedTile) continue;
      if (tile.el === cursor) cursor = cursor.nextSibling;
      else moveInto(grid, tile.el, cursor);
    }
    size();
  }

  function size() {
    const count = grid.childElementCount;
    if (container.classList.contains('has-pin') || !count) return;
    const box = grid.getBoundingClientRect();
    const shape = galleryShape(count, box.width, box.height, GAP);
    grid.style.setProperty('--row-w', `${shape.cols * (shape.tileWidth + GAP) - GAP + 1}px`);
    grid.style.setProperty('--tile-w', `${shape.tileWidth}px`);
    grid.style.setProperty('--tile-h', `${shape.tileHeight}px`);
  }
  const resize = new ResizeObserver(() => size());
  resize.observe(grid);

  function setPinned(key) {
    if (pinned === key) return;
    pinned = key;
    layout();
  }

  function toggle(key) {
    setPinned(pinned === key ? null : key);
  }

  container.addEventListener('click', (event) => {
    const tile = event.target.closest('.tile');
    if (tile) toggle(tile.dataset.key);
  });
  container.addEventListener('keydown', (event) => {
    const tile = event.target.closest?.('.tile');
    if (!tile || event.target !== tile) return;
    if (event.key === 'Enter') {
      event.preventDefault();
      toggle(tile.dataset.key);
    } else if (event.key === ' ') {
      event.preventDefault(); // a button acts on Space's release; no page scroll
    }
  });
  container.addEventListener('keyup', (event) => {
    const tile = event.target.closest?.('.tile');
    if (tile && event.target === tile && event.key === ' ') toggle(tile.dataset.key);
  });

  function addTile(person, identity, kind) {
    const key = `${kind}:${identity}`;
    const tile = createTile({ key, identity, label: label(person, kind), kind, local: person.local });
    person[kind] = tile;
    // A person's screen comes right after their camera tile; a new person at the end.
    const at = kind === 'screen' ? order.indexOf(person.camera) + 1 : order.length;
    order.splice(at, 0, tile);
    return tile;
  }

  function removeTile(tile) {
    const i = order.indexOf(tile);
    if (i < 0) return;
    const hadFocus = tile.el.contains(document.activeElement);
    order.splice(i, 1);
    play(tile.video, null);
    tile.el.remove();
    if (pinned === tile.key) {
      // Back to the newest screen someone else still shares, else the gallery.
      const screen = [...order].reverse().find((t) => t.kind === 'screen' && !people.get(t.identity)?.local);
      pinned = screen?.key ?? null;
    }
    layout();
    // Focus stays in the tiles: on the tile now in that place, else the last one.
    if (hadFocus) (order[Math.min(i, order.length - 1)]?.el ?? container).focus({ preventScroll: true });
  }

  // `name`, or `name (n)` with the smallest n from 2 that nobody in the call shows.
  function distinctName(name) {
    const shown = new Set([...people.values()].map((p) => p.name));
    if (!shown.has(name)) return name;
    let n = 2;
    while (shown.has(`${name} (${n})`)) n += 1;
    return `${name} (${n})`;
  }

  return {
    // Adds a person; returns true when they are new (an identity already known is left as is).
    // `name` as the person chose it; shown as "Ana (2)" while another "Ana" is in the call (the
    // smallest number free, kept while they stay), so two people of one name are told apart.
    addPerson({ identity, name, local = false }) {
      const known = people.get(identity);
      if (known) return false;
      const person = { name: distinctName(name), local, camera: null, screen: null, audio: null };
      people.set(identity, person);
      const tile = addTile(person, identity, 'camera');
      if (local) order.unshift(order.splice(order.indexOf(tile), 1)[0]); // you first
      layout();
      return true;
    },

    // Removes a person and their tiles and sound; returns their name, or null if unknown.
    removePerson(identity) {
      const person = people.get(identity);
      if (!person) return null;
      people.delete(identity);
      if (person.audio) {
        person.audio.srcObject = null;
        person.audio.remove();
      }
      if (person.screen) removeTile(person.screen);
      removeTile(person.camera);
      return person.name;
    },

    // A person's camera or screen track (null: gone). A screen tile comes and goes with its track;
    // someone else's new screen is pinned. Returns true when a screen tile was added.
    setVideo(identity, kind, track) {
      const person = people.get(identity);
      if (!person) return false;
      if (kind === 'camera') {
        play(person.camera.video, track);
        return false;
      }
      if (!track) {
        if (person.screen) removeTile(person.screen);
        person.screen = null;
        return false;
      }
      const added = !person.screen;
      const tile = person.screen ?? addTile(person, identity, 'screen');
      play(tile.video, track);
      if (added && !person.local) setPinned(tile.key);
      else layout();
      return added;
    },

    setAudio(identity, track) {
      const person = people.get(identity);
      if (!person || person.local) return;
      if (!track) {
        if (person.audio) person.audio.srcObject = null;
        return;
      }
      if (!person.audio) {
        person.audio = element('audio');
        person.audio.autoplay = true;
        person.audio.dataset.identity = identity;
        audioBox.append(person.audio);
      }
      person.audio.srcObject = new MediaStream([track]);
      person.audio.play().catch(() => {});
    },

    // kind: 'mic' | 'camera'.
    setMuted(identity, kind, muted) {
      const person = people.get(identity);
      if (!person) return;
      const tile = person.camera;
      if (kind === 'mic') tile.micOff.hidden = !muted;
      else {
        tile.camOff.hidden = !muted;
        tile.el.classList.toggle('camera-off', muted);
      }
    },

    // Scrolls a person's tile into sight (the strip beside a pinned tile may hide it).
    reveal(identity) {
      people.get(identity)?.camera.el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    },

    setSpeaking(identity, speaking) {
      people.get(identity)?.camera.el.classList.toggle('speaking', speaking);
    },

    nameOf: (identity) => people.get(identity)?.name ?? null,
    has: (identity) => people.has(identity),
    get count() {
      return people.size;
    },
    get pinned() {
      return pinned;
    },
    toggle,

    // Empties everything (the call ended).
    clear() {
      for (const identity of [...people.keys()]) this.removePerson(identity);
      pinned = null;
      layout();
    },
  };
}
