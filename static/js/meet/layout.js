// The gallery's shape: how many columns and how large a tile, so that `count` tiles fill a
// `width` x `height` area as large as they can be (the gallery of Meet, Zoom and LiveKit). A tile
// keeps an aspect between 16:9 and square in a landscape area, and down to portrait 3:4 in a
// portrait one (a phone): two people stack as two wide tiles on a phone and sit side by side on a
// laptop; four make a 2 x 2. Pure: the page tests call it directly.

const WIDEST = 16 / 9;

export function galleryShape(count, width, height, gap = 8) {
  const n = Math.max(1, count);
  const tallest = width >= height ? 1 : 3 / 4;
  let best = { cols: 1, rows: n, tileWidth: 0, tileHeight: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    // A column more than needed for the last row's tiles leaves a whole empty column: skip it.
    if (cols > 1 && (rows - 1) * cols >= n) continue;
    const cellWidth = (width - gap * (cols - 1)) / cols;
    const cellHeight = (height - gap * (rows - 1)) / rows;
    if (cellWidth <= 0 || cellHeight <= 0) continue;
    const aspect = Math.min(WIDEST, Math.max(tallest, cellWidth / cellHeight));
    const tileWidth = Math.min(cellWidth, cellHeight * aspect);
    const tileHeight = tileWidth / aspect;
    if (tileWidth * tileHeight > best.tileWidth * best.tileHeight + 0.5) {
      best = { cols, rows, tileWidth: Math.floor(tileWidth), tileHeight: Math.floor(tileHeight) };
    }
  }
  return best;
}
