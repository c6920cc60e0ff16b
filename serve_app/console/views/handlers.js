// Handlers: a form over the commonly used policy fields, bound both ways to a JSON editor of
// the whole policies object (for the rest: conditional tags, face quality, filters...); the
// validator's errors shown next to the field they name; list, edit (PUT) and delete.

import { del, get, post, put } from "../api.js";
import { busy, errorView, fill, h, shortId, table } from "../ui.js";

// [path under policies, label, kind, default]. Kinds: "flag" (0/1 checkbox), "number"
// (empty: not set), "text", "states" (comma-separated integers as a list), "list" (a list id
// of the account). Defaults are the service's, so the JSON shows what the handler will do.
const SECTIONS = [
  [
    "detect_policy",
    [
      ["detect_policy.detect_face", "detect faces", "flag", 1],
      ["detect_policy.multiface_policy", "multiface policy (0 one, 1 all, 2 best)", "number", 1],
      ["detect_policy.estimate_head_pose", "head pose", "flag", 0],
      ["detect_policy.detect_landmarks68", "68 landmarks", "flag", 0],
      ["detect_policy.estimate_quality", "image quality", "flag", 0],
      ["detect_policy.estimate_emotions", "emotions", "flag", 0],
      ["detect_policy.estimate_mask", "mask", "flag", 0],
      ["detect_policy.estimate_mouth_attributes", "mouth", "flag", 0],
      ["detect_policy.yaw_threshold", "yaw threshold (0..180)", "number", null],
      ["detect_policy.pitch_threshold", "pitch threshold (0..180)", "number", null],
      ["detect_policy.roll_threshold", "roll threshold (0..180)", "number", null],
      ["detect_policy.mask_states", "mask states (1 missing, 2 medical, 3 occluded)", "states", null],
    ],
  ],
  [
    "extract_policy",
    [
      ["extract_policy.extract_face_descriptor", "face descriptor", "flag", 0],
      ["extract_policy.extract_basic_attributes", "age and gender", "flag", 0],
      ["extract_policy.fd_score_threshold", "descriptor score threshold (0..1)", "number", 0],
    ],
  ],
  [
    "match_policy (first entry)",
    [
      ["match_policy.0.label", "label", "text", null],
      ["match_policy.0.candidates.list_id", "candidates: list", "list", null],
      ["match_policy.0.limit", "limit (1..100)", "number", null],
      ["match_policy.0.threshold", "threshold (0..1)", "number", null],
    ],
  ],
  [
    "storage_policy",
    [
      ["storage_policy.face_sample_policy.store_sample", "store face samples", "flag", 1],
      ["storage_policy.image_origin_policy.store_image", "store source image", "flag", 0],
      ["storage_policy.attribute_policy.store_attribute", "store attribute", "flag", 0],
      ["storage_policy.attribute_policy.ttl", "attribute ttl, s (1..86400)", "number", null],
      ["storage_policy.face_policy.store_face", "store face", "flag", 0],
      ["storage_policy.face_policy.link_to_lists_policy.0.list_id", "link face to list", "list", null],
      ["storage_policy.event_policy.store_event", "store event", "flag", 1],
      ["storage_policy.notification_policy.send_notification", "send notification (live view)", "flag", 1],
    ],
  ],
];
const FIELDS = SECTIONS.flatMap(([, fields]) => fields);

export const title = "Handlers";

export function render(root) {
  const description = h("input", { name: "description", size: 40, placeholder: "what this handler is for" });
  const dynamic = h("input", { type: "checkbox", name: "is_dynamic" });
  const editor = h("textarea", { name: "policies-json", rows: 12, spellcheck: "false", class: "code" });
  const editorError = h("div", { class: "field-error", dataset: { errorFor: "" } });
  const formStatus = h("div", { class: "status-line", id: "handler-form-status" });
  const listBox = h("div", { id: "handlers-list" });
  const listStatus = h("div", { class: "status-line" });
  const heading = h("h3", {}, "New handler");
  let editing = null; // the handler id being edited, or null for a new one
  let lists = [];

  const controls = new Map(); // path -> control
  const errors = new Map(); // path -> error element beside the control

  function control(path, kind) {
    if (kind === "flag") return h("input", { type: "checkbox", name: path });
    if (kind === "list") {
      return h("select", { name: path }, h("option", { value: "" }, "—"));
    }
    return h("input", { name: path, size: kind === "text" ? 16 : 8 });
  }

  const sections = SECTIONS.map(([name, fields]) =>
    h(
      "fieldset",
      {},
      h("legend", {}, name),
      fields.map(([path, label, kind]) => {
        const input = control(path, kind);
        const error = h("div", { class: "field-error", dataset: { errorFor: path } });
        controls.set(path, input);
        errors.set(path, error);
        input.addEventListener(kind === "flag" || kind === "list" ? "change" : "input", formToJson);
        return h("label", { class: `field ${kind === "flag" ? "flag" : ""}` }, h("span", { class: "label" }, label), input, error);
      }),
    ),
  );
  editor.addEventListener("change", jsonToForm);

  // The JSON editor is the truth: the form writes its fields into it, and reads them back
  // when the JSON is edited, so fields the form lacks are kept as typed.
  function policies() {
    const text = editor.value.trim();
    return text ? JSON.parse(text) : {};
  }

  function formToJson() {
    let value;
    try {
      value = policies();
    } catch {
      return; // keep the user's broken JSON until they fix it; the error shows on save
    }
    for (const [path, , kind] of FIELDS) setPath(value, path, readControl(controls.get(path), kind));
    editor.value = JSON.stringify(value, null, 2);
  }

  function jsonToForm() {
    clearErrors();
    let value;
    try {
      value = policies();
    } catch (error) {
      editorError.textContent = `not JSON: ${error.message}`;
      return;
    }
    for (const [path, , kind, fallback] of FIELDS) {
      const found = getPath(value, path);
      writeControl(controls.get(path), kind, found === undefined ? fallback : found);
    }
  }

  function reset(handler) {
    editing = handler ? handler.handler_id : null;
    heading.textContent = handler ? `Edit handler ${handler.handler_id}` : "New handler";
    description.value = handler ? handler.description : "";
    dynamic.checked = handler ? handler.is_dynamic : false;
    editor.value = JSON.stringify(handler?.policies || {}, null, 2);
    jsonToForm();
    formToJson();
    fill(formStatus);
  }

  function clearErrors() {
    for (const el of [...errors.values(), editorError]) el.textContent = "";
    for (const input of controls.values()) input.classList.remove("invalid");
  }

  /** Show a validation error beside the field its path names, else beside the JSON. */
  function showError(error) {
    const path = error.path ? error.path.replace(/^policies\./, "") : null;
    let target = null;
    if (path) {
      // The field itself, or the nearest field of the path ("...candidates.list_id" names it).
      const candidates = [...errors.keys()].filter((p) => path === p || path.startsWith(p + "."));
      const best = candidates.sort((a, b) => b.length - a.length)[0];
      if (best) target = best;
    }
    if (target) {
      errors.get(target).textContent = error.reason;
      controls.get(target).classList.add("invalid");
      controls.get(target).focus();
    } else if (path !== null) {
      editorError.textContent = `${path}: ${error.reason}`;
    }
    fill(formStatus, errorView(error));
  }

  async function validate() {
    clearErrors();
    let value;
    try {
      value = policies();
    } catch (error) {
      editorError.textContent = `not JSON: ${error.message}`;
      return false;
    }
    try {
      await post("/1/handlers/validator", { json: { policies: value } });
      fill(formStatus, h("span", { class: "ok", id: "handler-valid" }, "policies are valid"));
      return true;
    } catch (error) {
      showError(error);
      return false;
    }
  }

  async function save() {
    if (!dynamic.checked && !(await validate())) return;
    clearErrors();
    const body = { description: description.value, is_dynamic: dynamic.checked };
    try {
      body.policies = dynamic.checked ? {} : policies();
    } catch (error) {
      editorError.textContent = `not JSON: ${error.message}`;
      return;
    }
    try {
      if (editing) await put(`/1/handlers/${editing}`, body);
      else editing = (await post("/1/handlers", { json: body })).handler_id;
      fill(formStatus, h("span", { class: "ok" }, `saved handler ${editing}`));
      heading.textContent = `Edit handler ${editing}`;
      await refresh();
    } catch (error) {
      showError(error);
    }
  }

  async function remove(handler) {
    if (!confirm(`Remove handler ${handler.description || handler.handler_id}?`)) return;
    await busy(listStatus, () => del(`/1/handlers/${handler.handler_id}`));
    if (editing === handler.handler_id) reset(null);
    await refresh();
  }

  async function refresh() {
    const [handlers, found] = await busy(listStatus, () =>
      Promise.all([get("/1/handlers", { page_size: 100 }), get("/1/lists", { page_size: 100 })]),
    ) || [null, null];
    if (found) {
      lists = found.lists;
      for (const [path, , kind] of FIELDS) {
        if (kind !== "list") continue;
        const select = controls.get(path);
        const current = select.value;
        fill(select, h("option", { value: "" }, "—"), lists.map((l) => h("option", { value: l.list_id }, `${l.user_data || "(no name)"} ${l.list_id.slice(0, 8)}`)));
        select.value = current;
      }
      jsonToForm();
    }
    if (!handlers) return;
    fill(
      listBox,
      handlers.length
        ? table(
            [
              ["description", (x) => x.description || "—"],
              ["id", (x) => shortId(x.handler_id)],
              ["dynamic", (x) => (x.is_dynamic ? "yes" : "no")],
              ["updated", (x) => (x.last_update_time || "").replace("T", " ").slice(0, 19)],
              [
                "",
                (x) => [
                  h("button", { onclick: () => reset(x), class: "small" }, "Edit"),
                  h("button", { onclick: () => remove(x), class: "small danger" }, "Delete"),
                  h("a", { href: `#events?handler=${x.handler_id}`, class: "small" }, "Post events"),
                ],
              ],
            ],
            handlers.map((x) => ({ ...x, __data: { handlerId: x.handler_id, testid: "handler-row" } })),
            { class: "list" },
          )
        : h("p", { class: "empty" }, "No handlers in this account yet."),
    );
  }

  root.append(
    h("p", { class: "intro" }, "Handlers run detect, extract, match and storage policies on each image posted to them."),
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        { class: "form" },
        heading,
        h("label", { class: "field" }, h("span", { class: "label" }, "description"), description),
        h("label", { class: "field flag" }, h("span", { class: "label" }, "dynamic (policies come with each request)"), dynamic),
        sections,
        h("fieldset", { class: "raw" }, h("legend", {}, "policies JSON (everything; the form edits it)"), editor, editorError),
        h(
          "div",
          { class: "row" },
          h("button", { onclick: validate, id: "handler-validate" }, "Validate"),
          h("button", { onclick: save, id: "handler-save", class: "primary" }, "Save"),
          h("button", { onclick: () => reset(null) }, "New"),
        ),
        formStatus,
      ),
      h("div", { class: "list-column" }, h("h3", {}, "Handlers of the account"), h("button", { onclick: refresh, class: "small" }, "Refresh"), listStatus, listBox),
    ),
  );
  reset(null);
  refresh();
}

function readControl(input, kind) {
  if (kind === "flag") return input.checked ? 1 : 0;
  const text = input.value.trim();
  if (!text) return undefined;
  if (kind === "number") return Number.isNaN(Number(text)) ? text : Number(text);
  if (kind === "states") return text.split(",").map((s) => (Number.isNaN(Number(s)) ? s.trim() : Number(s)));
  return text;
}

function writeControl(input, kind, value) {
  if (kind === "flag") input.checked = Boolean(value);
  else if (kind === "states") input.value = Array.isArray(value) ? value.join(",") : value ?? "";
  else if (kind === "list" && value && ![...input.options].some((o) => o.value === value)) {
    input.append(h("option", { value }, value)); // a list not (yet) loaded
    input.value = value;
  } else input.value = value ?? "";
}

function getPath(object, path) {
  let current = object;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = current[key];
  }
  return current;
}

/** Set ``value`` at ``path`` (numeric keys make arrays); undefined deletes it, and the
 * containers it leaves empty. */
function setPath(object, path, value) {
  const keys = path.split(".");
  const trail = [object];
  let current = object;
  for (let i = 0; i < keys.length - 1; i++) {
    const key = keys[i];
    if (current[key] === null || typeof current[key] !== "object") {
      if (value === undefined) return;
      current[key] = /^\d+$/.test(keys[i + 1]) ? [] : {};
    }
    current = current[key];
    trail.push(current);
  }
  const last = keys[keys.length - 1];
  if (value !== undefined) {
    current[last] = value;
    return;
  }
  if (Array.isArray(current)) current.splice(Number(last), 1);
  else delete current[last];
  for (let i = keys.length - 1; i > 0; i--) {
    const container = trail[i];
    if (Object.keys(container).length) break;
    const parent = trail[i - 1];
    if (Array.isArray(parent)) parent.splice(Number(keys[i - 1]), 1);
    else delete parent[keys[i - 1]];
  }
}
