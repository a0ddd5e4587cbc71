// The design checks of one page state, in every variant a person may see it in: desktop
// (1280x800) and phone (390x844), light and dark (`prefers-color-scheme`). Each variant is
// screenshotted to target/browser-screenshots/<name>-<variant>.png and checked with axe-core
// (the pinned npm package, injected from node_modules): no violation of impact serious or
// critical, and colour contrast of every text at least 4.5:1 (large text too) and checked,
// not left "incomplete" (text over video or an image cannot be checked: there is none).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './stack.mjs';
import { screenshot } from './browser.mjs';

const AXE = readFileSync(join(root, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

export const VARIANTS = [
  { name: 'desktop-light', viewport: { width: 1280, height: 800 }, colorScheme: 'light' },
  { name: 'desktop-dark', viewport: { width: 1280, height: 800 }, colorScheme: 'dark' },
  { name: 'phone-light', viewport: { width: 390, height: 844 }, colorScheme: 'light' },
  { name: 'phone-dark', viewport: { width: 390, height: 844 }, colorScheme: 'dark' },
];

// axe's own colour-contrast check, with 4.5:1 for large text as well.
const CONTRAST = {
  ignoreUnicode: true,
  ignoreLength: false,
  ignorePseudo: false,
  boldValue: 700,
  boldTextPt: 14,
  largeTextPt: 18,
  contrastRatio: { normal: { expected: 4.5 }, large: { expected: 4.5 } },
  pseudoSizeThreshold: 0.25,
  shadowOutlineEmMax: 0.2,
  textStrokeEmMin: 0.03,
};

// Runs axe in the page (evaluated over the DevTools protocol, so the page's
// Content-Security-Policy, which forbids inline scripts, stays as it is).
async function axe(page) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await page.evaluate(AXE);
  return page.evaluate(async (contrast) => {
    window.axe.configure({ checks: [{ id: 'color-contrast', options: contrast }] });
    const result = await window.axe.run(document, { resultTypes: ['violations', 'incomplete'] });
    const brief = (r) => ({
      id: r.id,
      impact: r.impact,
      help: r.help,
      nodes: r.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? n.any.map((c) => c.message).join('; ')}`),
    });
    return {
      violations: result.violations.map(brief),
      incomplete: result.incomplete.map(brief),
    };
  }, CONTRAST);
}

// Waits for the page to draw with its new size or colours.
const settled = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

// Screenshots and checks `page` as it is now in every variant, then puts it back to desktop
// light. `name` is the state, e.g. "host-studio".
export async function checkDesign(page, name) {
  const problems = [];
  for (const variant of VARIANTS) {
    await page.setViewportSize(variant.viewport);
    await page.emulateMedia({ colorScheme: variant.colorScheme, reducedMotion: 'reduce' });
    await settled(page);
    await screenshot(page, `${name}-${variant.name}`);
    const { violations, incomplete } = await axe(page);
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const unchecked = incomplete.filter((r) => r.id === 'color-contrast');
    for (const v of [...serious, ...unchecked]) problems.push({ variant: variant.name, ...v });
  }
  await page.setViewportSize(VARIANTS[0].viewport);
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
  assert.deepEqual(problems, [], `${name}: accessibility problems`);
}

// Walks the page with the Tab key, once round, and checks that every element that takes the
// focus shows it: an outline at least 2 px wide that is not transparent. Resolves to the ids (or
// tags) of the elements visited.
export async function focusIsVisible(page, limit = 40) {
  const visited = [];
  let outside = 0;
  for (let i = 0; i < limit && outside < 2; i++) {
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      return {
        name: el.id || el.tagName.toLowerCase(),
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 && style.outlineColor !== 'rgba(0, 0, 0, 0)',
      };
    });
    // Past the last element the focus leaves the page once, then starts again at the top.
    if (!focus) {
      outside++;
      continue;
    }
    if (visited.includes(focus.name)) break;
    visited.push(focus.name);
    assert.ok(focus.outline, `the focus on ${focus.name} is visible`);
  }
  return visited;
}
