/* global document */
/**
 * The console's only way to make DOM: `h(tag, props, ...children)`. Children that are strings or
 * numbers become text nodes, so data is always inserted as text and never parsed as HTML (a name
 * such as `<img onerror=…>` renders as those characters). Nothing in the console parses markup from strings.
 *
 * props: `class`, `on<Event>` handlers (functions), booleans (`disabled: true` sets the attribute,
 * `false` omits it), `dataset` objects, `style` strings, and plain attributes (set with
 * setAttribute, which never parses markup). `null`/`undefined`/`false` children are skipped;
 * arrays are flattened.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [name, value] of Object.entries(props)) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith('on') && typeof value === 'function') {
        el.addEventListener(name.slice(2).toLowerCase(), value);
      } else if (name === 'dataset') {
        for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
      } else if (name === 'value' && 'value' in el) {
        el.value = String(value);
      } else if (value === true) {
        el.setAttribute(name, '');
      } else {
        el.setAttribute(name, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === true) continue;
    if (Array.isArray(child)) append(el, child);
    else if (typeof child === 'string' || typeof child === 'number')
      el.appendChild(document.createTextNode(String(child)));
    else el.appendChild(child);
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * {@link h} for SVG: `s(tag, attrs, ...children)` makes the element in the SVG namespace (charts).
 * Attributes are set with setAttribute and children follow the same rules as {@link h}, so data
 * is inserted as text here too. No event handlers: charts are pictures, the tables carry the numbers.
 */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Replaces every child of `el` with `children` (same rules as {@link h}). */
export function replace(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, children);
  return el;
}

/**
 * A table from column definitions: `[{ label, value: (row) => child, num?: true }]`. Each header
 * cell has `scope="col"`; numeric columns are right-aligned. An empty list shows `empty` instead.
 */
export function table(columns, rows, { caption, empty, rowProps } = {}) {
  if (!rows.length && empty) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption ?? null },
    h(
      'table',
      null,
      caption ? h('caption', null, caption) : null,
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((row) =>
          h(
            'tr',
            rowProps ? rowProps(row) : null,
            columns.map((c, i) =>
              i === 0 && c.header !== false
                ? h('th', { scope: 'row', class: c.num ? 'num' : null }, c.value(row))
                : h('td', { class: c.num ? 'num' : null, 'data-label': c.label }, c.value(row)),
            ),
          ),
        ),
      ),
    ),
  );
}
