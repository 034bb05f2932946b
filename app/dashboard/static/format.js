// Building the page: every text from the API goes in with textContent, never as HTML.

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      element.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return element;
}

/** A message in place of content; `kind` is its class (problem, empty, loading). */
export function note(text, kind = "empty") {
  return el("p", { class: kind }, text);
}

export function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)} %`;
}

export function number(value, digits = 0) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

/** Seconds as a duration people read: 45 s, 12.5 min, 3.2 h, 2.1 d. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) {
    return "–";
  }
  if (seconds < 120) {
    return `${seconds.toFixed(0)} s`;
  }
  if (seconds < 7200) {
    return `${(seconds / 60).toFixed(1)} min`;
  }
  if (seconds < 172800) {
    return `${(seconds / 3600).toFixed(1)} h`;
  }
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** A bucket's start as a short UTC label ("12-03 14:00"): the same on every screen. */
export function bucketLabel(start) {
  const date = new Date(start);
  const two = (n) => String(n).padStart(2, "0");
  return `${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}`;
}

/** A class as people read it: its field and value (the API sends the value as canonical JSON). */
export function classLabel(field, value) {
  let shown = value;
  try {
    const parsed = JSON.parse(value);
    shown = typeof parsed === "string" ? parsed : value;
  } catch {
    shown = value;
  }
  return `${field}: ${shown}`;
}

export function personLabel(user) {
  return user ? user.displayName || user.username : "(not shown)";
}

/**
 * A table of rows of text (or elements); `caption` names it for assistive technology and tests.
 * Columns in `numeric` (all but the first by default) are set right-aligned.
 */
export function table(caption, headers, rows, numeric = null) {
  const isNumeric = (index) => (numeric === null ? index > 0 : numeric.includes(index));
  const cell = (tag, content, index, extra = {}) => el(tag, { ...extra, class: isNumeric(index) ? "num" : null }, content);
  return el(
    "table",
    {},
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, headers.map((header, index) => cell("th", header, index, { scope: "col" })))),
    el("tbody", {}, rows.map((row) => el("tr", {}, row.map((content, index) => cell("td", content, index))))),
  );
}

/** Headline figures: a label and a value each. */
export function tiles(entries) {
  return el(
    "dl",
    { class: "tiles" },
    entries.map(([label, value, name]) => el("div", { class: "tile", dataset: name ? { figure: name } : {} }, el("dt", {}, label), el("dd", {}, value))),
  );
}
