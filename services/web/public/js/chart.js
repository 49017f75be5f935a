/**
 * A small bar chart drawn as SVG with the console's own DOM helper (no charting library: the
 * console has no build step and vendors no code, and five bars per chart need no more). The chart
 * is a picture: it carries `role="img"` and points at a text alternative the caller provides, and
 * every figure it shows is also in a table on the same page.
 */
import { s } from './dom.js';

/**
 * The axis ticks for counts from 0 to `max`: about four equal steps of 1, 2 or 5 × 10ᵏ (never
 * below 1, counts are whole), the last tick at or above `max`.
 *
 * @example countTicks(12) // [0, 5, 10, 15]
 */
export function countTicks(max) {
  const top = Math.max(0, Math.ceil(Number.isFinite(max) ? max : 0));
  if (top === 0) return [0, 1];
  const raw = top / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const step = Math.max(1, Math.round((norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude));
  const ticks = [0];
  while (ticks[ticks.length - 1] < top) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

const WIDTH = 440;
const HEIGHT = 220;
const PAD = { left: 40, right: 8, top: 20, bottom: 30 };

const round = (v) => Math.round(v * 10) / 10;

/**
 * Vertical bars side by side on one count axis, as an `<svg>` that scales to its container.
 *
 * `bars`: `[{ key, value, label, short, text }]` — `key` names the series (CSS class
 * `series-<key>`, `data-series`), `value` a number or null (no figure: a bar of height 0 marked
 * `missing`), `label` the series in words (tooltip), `short` the axis label, `text` the value as
 * shown. `labelledBy`/`describedBy`: ids of the visible caption that is the text alternative.
 * `tickText` formats an axis tick.
 */
export function barChart({ bars, labelledBy, describedBy, tickText = String }) {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const ticks = countTicks(Math.max(0, ...bars.map((b) => (typeof b.value === 'number' ? b.value : 0))));
  const max = ticks[ticks.length - 1];
  const y = (v) => round(PAD.top + plotH - (v / max) * plotH);
  const baseline = PAD.top + plotH;
  const slot = plotW / Math.max(1, bars.length);
  const barW = round(slot * 0.62);
  return s(
    'svg',
    {
      class: 'bar-chart',
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: 'img',
      'aria-labelledby': labelledBy,
      'aria-describedby': describedBy,
      'data-max': max,
    },
    s(
      'g',
      { class: 'axis', 'aria-hidden': 'true' },
      ticks.map((v) => [
        s('line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v), class: v === 0 ? 'base' : null }),
        s('text', { x: PAD.left - 5, y: y(v) + 4, 'text-anchor': 'end' }, tickText(v)),
      ]),
    ),
    s(
      'g',
      { class: 'bars' },
      bars.map((b, i) => {
        const has = typeof b.value === 'number' && Number.isFinite(b.value);
        const v = has ? Math.max(0, b.value) : 0;
        const x = round(PAD.left + slot * i + (slot - barW) / 2);
        const mid = round(x + barW / 2);
        return s(
          'g',
          { class: 'bar-group' },
          s(
            'rect',
            {
              class: `bar series-${b.key}${has ? '' : ' missing'}`,
              x,
              y: y(v),
              width: barW,
              height: round(baseline - y(v)),
              'data-series': b.key,
              'data-value': has ? v : '',
            },
            s('title', null, `${b.label}: ${b.text}`),
          ),
          s('text', { class: 'value', x: mid, y: y(v) - 5, 'text-anchor': 'middle', 'aria-hidden': 'true' }, b.text),
          s(
            'text',
            { class: 'label', x: mid, y: baseline + 18, 'text-anchor': 'middle', 'aria-hidden': 'true' },
            b.short,
          ),
        );
      }),
    ),
  );
}
