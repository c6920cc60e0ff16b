// Small DOM helpers shared by the views: element building, LUNA errors shown readably, an
// image picker (drop or choose), and collapsible JSON.

import { LunaError } from "./api.js";

/**
 * h("div", {class: "x", onclick: f, dataset: {testid: "y"}}, child, "text", [more])
 * Attributes starting with "on" become listeners; null/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = Boolean(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of ``el``. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A readable view of an error: LUNA's code, description and detail, and the HTTP status. */
export function errorView(error) {
  if (!(error instanceof LunaError)) {
    return h("div", { class: "error", role: "alert" }, String(error && error.stack ? error.message : error));
  }
  return h(
    "div",
    { class: "error", role: "alert", dataset: { errorCode: error.errorCode ?? "" } },
    h("strong", {}, error.errorCode !== null ? `Error ${error.errorCode}` : `HTTP ${error.status}`),
    error.desc ? ` ${error.desc}` : "",
    error.detail && error.detail !== error.desc ? h("div", { class: "detail" }, error.detail) : null,
    h("div", { class: "status" }, `HTTP ${error.status}`),
  );
}

/** Runs ``task`` showing "working…" and then its error (if any) in ``box``. */
export async function busy(box, task) {
  fill(box, h("span", { class: "working" }, "working…"));
  try {
    const result = await task();
    fill(box);
    return result;
  } catch (error) {
    fill(box, errorView(error));
    if (!(error instanceof LunaError)) console.error(error);
    return undefined;
  }
}

/**
 * An area to drop an image on, or click to choose one. ``onPick(file)`` is called with each
 * image; the hidden <input type=file> carries ``name`` (tests set files through it).
 */
export function imagePicker(name, onPick, label = "Drop an image here, or click to choose") {
  const input = h("input", { type: "file", accept: "image/*", name, class: "file-input" });
  const text = h("span", {}, label);
  const zone = h("label", { class: "drop", dataset: { picker: name } }, input, text);
  const pick = (file) => {
    if (!file) return;
    text.textContent = `${file.name} (${Math.round(file.size / 1024)} KiB)`;
    onPick(file);
  };
  input.addEventListener("change", () => pick(input.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    pick(event.dataTransfer.files[0]);
  });
  return zone;
}

/** A collapsed <details> with ``value`` as indented JSON. */
export function jsonDetails(title, value) {
  return h("details", { class: "json" }, h("summary", {}, title), h("pre", {}, JSON.stringify(value, null, 2)));
}

/** A table: ``columns`` are [title, (row) => cell]. */
export function table(columns, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", { dataset: row.__data || {} }, columns.map(([, cell]) => h("td", {}, cell(row))))),
    ),
  );
}

/** A labelled form control. */
export function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), control, hint ? h("small", {}, hint) : null);
}

/** Round a number for display. */
export function fmt(value, digits = 3) {
  return typeof value === "number" ? Number(value.toFixed(digits)).toString() : String(value);
}

/** Short id for display (the full one is in the title attribute). */
export function shortId(id) {
  return h("code", { title: id }, id ? `${id.slice(0, 8)}…` : "—");
}

/** The image of ``file`` decoded, for drawing on a canvas. */
export function loadImage(file) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file);
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`cannot show ${file.name} in the browser`));
    image.src = url;
  });
}
