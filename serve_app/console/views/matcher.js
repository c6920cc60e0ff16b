// Matcher: who is this? A photo's best face (or a stored face id) searched among the
// account's faces, all or one list's (POST /1/matcher/faces), best candidates first.

import { get, imageUrl, post } from "../api.js";
import { drawFaces } from "../draw.js";
import { busy, fill, fmt, h, imagePicker, jsonDetails, loadImage, shortId } from "../ui.js";

export const title = "Matcher";

export function render(root) {
  const listSelect = h("select", { name: "list" }, h("option", { value: "" }, "all faces of the account"));
  const faceId = h("input", { name: "reference-face-id", size: 38, placeholder: "or a face id as the reference" });
  const limit = h("input", { name: "limit", size: 4, value: "5" });
  const threshold = h("input", { name: "threshold", size: 5, value: "0" });
  const canvas = h("canvas", { class: "photo half", id: "matcher-canvas" });
  const status = h("div", { class: "status-line" });
  const results = h("div", { id: "matcher-results", class: "gallery" });
  const raw = h("div");
  let file = null;

  async function loadLists() {
    const answer = await busy(status, () => get("/1/lists", { page_size: 100 }));
    if (!answer) return;
    fill(
      listSelect,
      h("option", { value: "" }, "all faces of the account"),
      answer.lists.map((l) => h("option", { value: l.list_id }, `${l.user_data || "(no name)"} · ${l.faces_count} face(s)`)),
    );
  }

  async function reference() {
    if (faceId.value.trim()) return { type: "face_id", id: faceId.value.trim() };
    if (!file) throw new Error("Choose a photo or give a face id.");
    const answer = await post("/1/sdk", {
      params: { detect_face: 1, multiface_policy: 2, estimate_face_descriptor: 1, estimate_landmarks5: 1 },
      body: file,
    });
    const image = answer.images_estimations[0];
    if (image.status === 0) throw new Error(`${image.error.error_code}: ${image.error.detail}`);
    const face = image.estimations.find((e) => e.face)?.face;
    if (!face) throw new Error("no face found in the photo");
    const picture = await loadImage(file).catch(() => null);
    if (picture) drawFaces(canvas, picture, [{ ...face.detection, label: "?", filtered: false }], 560);
    return { type: "descriptor", id: file.name || "photo", data: face.attributes.descriptor.sdk_descriptor };
  }

  async function search() {
    fill(results);
    fill(raw);
    const answer = await busy(status, async () => {
      const filters = listSelect.value ? { list_id: listSelect.value } : {};
      const body = {
        references: [await reference()],
        candidates: [{ filters, limit: Number(limit.value) || 5, threshold: Number(threshold.value) || 0 }],
      };
      return post("/1/matcher/faces", { json: body });
    });
    if (!answer) return;
    const found = answer[0].matches[0].result;
    fill(
      results,
      found.length ? found.map(candidate) : h("p", { class: "empty", id: "matcher-none" }, "No candidate at or above the threshold."),
    );
    fill(raw, jsonDetails("answer of /1/matcher/faces", answer));
  }

  function candidate({ face, similarity }) {
    const img = h("img", { alt: face.user_data || face.face_id, width: 125, height: 125 });
    if (face.avatar) imageUrl(face.avatar).then((url) => (img.src = url)).catch(() => img.classList.add("missing"));
    return h(
      "figure",
      { class: "face-tile", dataset: { testid: "candidate", faceId: face.face_id } },
      img,
      h("figcaption", {}, h("strong", {}, fmt(similarity, 4)), " ", face.user_data || "(no name)", h("br"), shortId(face.face_id)),
    );
  }

  root.append(
    h("p", { class: "intro" }, "One to many: the best faces of the account (or of a list) for a photo's face."),
    h(
      "div",
      { class: "row" },
      h("label", { class: "field inline" }, h("span", { class: "label" }, "among"), listSelect),
      h("label", { class: "field inline" }, h("span", { class: "label" }, "limit"), limit),
      h("label", { class: "field inline" }, h("span", { class: "label" }, "least similarity"), threshold),
    ),
    h("div", { class: "row" }, imagePicker("matcher-image", (f) => { file = f; faceId.value = ""; search(); }), faceId, h("button", { onclick: search, id: "matcher-run" }, "Search")),
    status,
    h("div", { class: "result" }, canvas, results),
    raw,
  );
  loadLists();
}
