// Detect: an image through POST /1/sdk with the chosen estimations; the faces drawn on the
// image, their attributes beside it, and the faces that filters removed with the reasons.

import { post } from "../api.js";
import { drawFaces } from "../draw.js";
import { busy, fill, fmt, h, imagePicker, jsonDetails, loadImage } from "../ui.js";

// /1/sdk flags, on by default where the shipped CPU profile has the estimator. Glasses, eyes,
// gaze and liveness are opt-in models: asking without them answers LUNA's 11055, shown as is.
const ESTIMATIONS = [
  ["estimate_landmarks5", "5 landmarks", true],
  ["estimate_head_pose", "head pose", true],
  ["estimate_basic_attributes", "age and gender", true],
  ["estimate_quality", "image quality", true],
  ["estimate_emotions", "emotions", true],
  ["estimate_mask", "mask", true],
  ["estimate_mouth_attributes", "mouth", true],
  ["estimate_glasses", "glasses", false],
  ["estimate_eyes_attributes", "eyes", false],
  ["estimate_gaze", "gaze", false],
  ["estimate_liveness", "liveness", false],
  ["detect_body", "bodies", false],
];

// Filters: faces outside them come back under filtered_estimations with their reasons.
const FILTERS = [
  ["yaw_threshold", "yaw ≤", "0..180°"],
  ["pitch_threshold", "pitch ≤", "0..180°"],
  ["roll_threshold", "roll ≤", "0..180°"],
  ["score_threshold", "descriptor score ≥", "0..1"],
];

export const title = "Detect";

export function render(root) {
  const flags = ESTIMATIONS.map(([name, label, on]) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name, checked: on }), label),
  );
  const filters = FILTERS.map(([name, label, hint]) =>
    h("label", { class: "field inline" }, h("span", { class: "label" }, label), h("input", { name, size: 5, placeholder: hint })),
  );
  const multiface = h(
    "select",
    { name: "multiface_policy" },
    h("option", { value: "1" }, "all faces"),
    h("option", { value: "2" }, "best face"),
    h("option", { value: "0" }, "one face (error if several)"),
  );
  const status = h("div", { class: "status-line" });
  const canvas = h("canvas", { id: "detect-canvas", class: "photo" });
  const faces = h("div", { id: "detect-faces", class: "faces" });
  const raw = h("div");
  let file = null;

  async function run() {
    if (!file) return;
    const params = { detect_face: 1, multiface_policy: multiface.value, estimate_face_descriptor: 0 };
    for (const box of root.querySelectorAll(".flags input")) if (box.checked) params[box.name] = 1;
    for (const input of root.querySelectorAll(".filters input")) if (input.value.trim()) params[input.name] = input.value.trim();
    if (params.score_threshold) params.estimate_face_descriptor = 1; // the score is the descriptor's
    fill(faces);
    fill(raw);
    const [answer, image] = await Promise.all([
      busy(status, () => post("/1/sdk", { params, body: file })),
      loadImage(file).catch(() => null),
    ]);
    if (!answer) return;
    show(answer, image);
  }

  function show(answer, image) {
    const result = answer.images_estimations[0];
    if (result.status === 0) {
      fill(status, h("div", { class: "error" }, `${result.error.error_code}: ${result.error.detail}`));
      return;
    }
    const kept = result.estimations.filter((e) => e.face).map((e) => e.face);
    const filtered = (result.filtered_estimations?.faces || []).map((f) => ({ ...f.face, reasons: f.filter_reasons }));
    const drawn = [
      ...kept.map((face, i) => ({ ...face.detection, label: i + 1, filtered: false })),
      ...filtered.map((face, i) => ({ ...face.detection, label: `F${i + 1}`, filtered: true })),
    ];
    if (image) drawFaces(canvas, image, drawn);
    fill(
      status,
      h("span", { id: "detect-summary" }, `${kept.length} face(s)`, filtered.length ? `, ${filtered.length} filtered` : ""),
    );
    fill(
      faces,
      kept.map((face, i) => faceCard(`${i + 1}`, face, "face")),
      filtered.map((face, i) => faceCard(`F${i + 1}`, face, "filtered")),
    );
    fill(raw, jsonDetails("answer of /1/sdk", answer));
  }

  root.append(
    h("p", { class: "intro" }, "POST /1/sdk: faces, landmarks and attributes of one image."),
    h("div", { class: "row" }, imagePicker("detect-image", (f) => { file = f; run(); }), h("button", { onclick: run }, "Run again")),
    h("div", { class: "flags" }, flags, h("label", { class: "field inline" }, h("span", { class: "label" }, "faces"), multiface)),
    h("div", { class: "filters" }, filters),
    status,
    h("div", { class: "result" }, canvas, faces),
    raw,
  );
}

/** One face's card: its number on the canvas, box, and each attribute readably. */
function faceCard(label, face, kind) {
  const detection = face.detection || {};
  const attrs = { ...(detection.attributes || {}), ...(face.attributes || {}) };
  const rows = [];
  const rect = detection.rect;
  if (rect) rows.push(["box", `${rect.x},${rect.y} ${rect.width}×${rect.height}`]);
  if (detection.score !== undefined) rows.push(["score", fmt(detection.score)]);
  const basic = attrs.basic_attributes;
  if (basic) rows.push(["age, gender", `${basic.age}, ${basic.gender === 1 ? "male" : "female"}`]);
  const pose = attrs.head_pose || detection.head_pose;
  if (pose) rows.push(["head pose", `pitch ${fmt(pose.pitch, 1)} roll ${fmt(pose.roll, 1)} yaw ${fmt(pose.yaw, 1)}`]);
  if (attrs.emotions) rows.push(["emotion", attrs.emotions.predominant_emotion]);
  if (attrs.mask) rows.push(["mask", attrs.mask.predominant_mask]);
  if (attrs.mouth_attributes) {
    const m = attrs.mouth_attributes;
    // occluded comes only from a mouth estimator that measures it
    const occluded = typeof m.occluded === "number" ? ` occluded ${fmt(m.occluded, 2)}` : "";
    rows.push(["mouth", `opened ${fmt(m.opened, 2)} smile ${fmt(m.smile, 2)}${occluded}`]);
  }
  if (attrs.glasses) rows.push(["glasses", attrs.glasses.glasses]);
  if (attrs.liveness) rows.push(["liveness", attrs.liveness.prediction]);
  const quality = detection.quality || attrs.quality;
  if (quality) rows.push(["quality", Object.entries(quality).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(", ")]);
  if (attrs.descriptor) rows.push(["descriptor score", fmt(attrs.descriptor.score)]);
  const reasons = (face.reasons || []).map((r) =>
    h("li", { class: "reason" }, `${r.filter_name}: ${fmt(r.object_value, 2)} (threshold ${JSON.stringify(r.threshold_value)})`),
  );
  return h(
    "div",
    { class: `face-card ${kind}`, dataset: { testid: kind === "face" ? "face" : "filtered-face" } },
    h("div", { class: "badge" }, label),
    h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { attr: k } }, v)])),
    reasons.length ? h("div", {}, h("strong", {}, "filtered: "), h("ul", {}, reasons)) : null,
  );
}
