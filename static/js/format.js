// Numbers in words and clocks, the same on every page.

// "1 viewer", "3 viewers".
export const counted = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// A duration as a clock: "0:07", "12:34", "1:02:03".
export function clock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

// The same as an ISO 8601 duration, for <time datetime>.
export const isoDuration = (ms) => `PT${Math.max(0, Math.floor(ms / 1000))}S`;
