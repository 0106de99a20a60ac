// A small component pattern without a framework: `h()` builds elements, `$()` finds the page's
// fixed ones. Text always goes in as text (never HTML), so names and messages cannot inject.

/** @param {string} id @returns {any} */
export const $ = (id) => document.getElementById(id);

/**
 * An element: `h("button", { class: "x", onclick, "aria-label": "…" }, "text", child…)`.
 * Props starting with "on" are listeners; `hidden`, `disabled`, `checked` and `value` are set
 * as properties; everything else as attributes. Falsy children are skipped.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (["hidden", "disabled", "checked", "value"].includes(key)) element[key] = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** "Ada Lovelace" → "AL"; "bob" → "B". */
export function initials(name) {
  const words = String(name ?? "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words.slice(0, 1);
  return letters.map((w) => w[0].toUpperCase()).join("") || "?";
}

/** A stable hue for a name's avatar. */
export function hueOf(name) {
  let hash = 0;
  for (const char of String(name)) hash = (hash * 31 + char.charCodeAt(0)) % 360;
  return hash;
}

/** "14:05" (a message's time), from an ISO date or a Date. */
export function clockTime(when) {
  const date = when instanceof Date ? when : new Date(when ?? Date.now());
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** Say `text` to screen readers (the page's polite live region). */
export function announce(text) {
  const region = $("announcer");
  if (region) region.textContent = text;
}
