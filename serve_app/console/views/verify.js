// Verify: are the people of two photos the same? Each photo's best face gives a descriptor
// (POST /1/sdk), and a verifier compares them (POST /1/verifiers/{id}/raw), answering the
// similarity and the verifier's verdict at its verification_threshold.

import { get, post } from "../api.js";
import { drawFaces } from "../draw.js";
import { busy, fill, fmt, h, imagePicker, jsonDetails, loadImage } from "../ui.js";

export const title = "Verify";
// Pixels across each photo is drawn at: two side by side.
const HALF = 560;

export function render(root) {
  const verifierSelect = h("select", { name: "verifier" });
  const threshold = h("input", { name: "verification_threshold", size: 5, value: "0.5" });
  const verifierStatus = h("div", { class: "status-line" });
  const status = h("div", { class: "status-line" });
  const verdict = h("div", { id: "verify-result", class: "verdict" });
  const raw = h("div");
  const sides = { a: side("a", "Photo A"), b: side("b", "Photo B") };

  function side(key, label) {
    const canvas = h("canvas", { class: "photo half", id: `verify-canvas-${key}` });
    const state = { file: null, canvas };
    state.el = h(
      "div",
      { class: "side" },
      h("h3", {}, label),
      imagePicker(`verify-${key}`, (file) => {
        state.file = file;
        loadImage(file).then((image) => drawFaces(canvas, image, [], HALF)).catch(() => null);
      }),
      canvas,
    );
    return state;
  }

  async function loadVerifiers(select) {
    const verifiers = await busy(verifierStatus, () => get("/1/verifiers", { page_size: 100 }));
    if (!verifiers) return;
    fill(
      verifierSelect,
      verifiers.map((v) => h("option", { value: v.verifier_id }, `${v.description || "(no description)"} · threshold ${v.policies?.verification_threshold ?? "?"}`)),
    );
    if (select) verifierSelect.value = select;
  }

  async function createVerifier() {
    const made = await busy(verifierStatus, () =>
      post("/1/verifiers", {
        json: { description: "console verifier", policies: { verification_threshold: Number(threshold.value) } },
      }),
    );
    if (made) await loadVerifiers(made.verifier_id);
  }

  /** The best face of a photo and its SDK descriptor. */
  async function bestFace(state, name) {
    const answer = await post("/1/sdk", {
      params: { detect_face: 1, multiface_policy: 2, estimate_face_descriptor: 1, estimate_landmarks5: 1 },
      body: state.file,
    });
    const image = answer.images_estimations[0];
    if (image.status === 0) throw new Error(`${name}: ${image.error.error_code}: ${image.error.detail}`);
    const face = image.estimations.find((e) => e.face)?.face;
    if (!face) throw new Error(`${name}: no face found`);
    const picture = await loadImage(state.file).catch(() => null);
    if (picture) drawFaces(state.canvas, picture, [{ ...face.detection, label: name, filtered: false }], HALF);
    return face;
  }

  async function verify() {
    if (!sides.a.file || !sides.b.file) {
      fill(status, h("div", { class: "error" }, "Choose both photos first."));
      return;
    }
    fill(verdict);
    fill(raw);
    const answer = await busy(status, async () => {
      if (!verifierSelect.value) await createVerifier();
      if (!verifierSelect.value) throw new Error("no verifier");
      const [a, b] = await Promise.all([bestFace(sides.a, "A"), bestFace(sides.b, "B")]);
      const entity = (id, face) => ({ id, type: "sdk_descriptor", data: face.attributes.descriptor.sdk_descriptor });
      return post(`/1/verifiers/${verifierSelect.value}/raw`, {
        json: { references: [entity("A", a)], candidates: [entity("B", b)] },
      });
    });
    if (!answer) return;
    const match = answer.matches[0].matches[0];
    fill(
      verdict,
      h("div", { class: `verdict-${match.status ? "same" : "different"}` }, match.status ? "Same person" : "Different people"),
      h("div", {}, "similarity ", h("strong", { id: "verify-similarity" }, fmt(match.similarity, 4))),
    );
    fill(raw, jsonDetails("answer of /1/verifiers/{id}/raw", answer));
  }

  root.append(
    h("p", { class: "intro" }, "One to one: the best face of each photo, compared by a verifier."),
    h(
      "div",
      { class: "row" },
      h("label", { class: "field inline" }, h("span", { class: "label" }, "verifier"), verifierSelect),
      h("label", { class: "field inline" }, h("span", { class: "label" }, "threshold of a new one"), threshold),
      h("button", { onclick: createVerifier, class: "small" }, "Create verifier"),
      verifierStatus,
    ),
    h("div", { class: "row" }, h("button", { onclick: verify, class: "primary", id: "verify-run" }, "Verify"), verdict),
    status,
    h("div", { class: "columns two" }, sides.a.el, sides.b.el),
    raw,
  );
  loadVerifiers();
}
