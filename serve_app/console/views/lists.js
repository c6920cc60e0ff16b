// Lists and faces: the account's lists, the faces of the chosen one with their sample images,
// and a face made from a photo (its best face's sample, an attribute of it, then the face).

import { del, get, imageUrl, post } from "../api.js";
import { busy, fill, h, imagePicker, shortId, table } from "../ui.js";

export const title = "Lists & faces";

export function render(root) {
  const listName = h("input", { name: "list-user-data", size: 24, placeholder: "list name (user_data)" });
  const listStatus = h("div", { class: "status-line" });
  const listsBox = h("div", { id: "lists" });
  const facesTitle = h("h3", {}, "Faces");
  const facesStatus = h("div", { class: "status-line" });
  const facesBox = h("div", { id: "faces", class: "gallery" });
  const faceName = h("input", { name: "face-user-data", size: 24, placeholder: "who (user_data)" });
  const faceExternal = h("input", { name: "face-external-id", size: 16, placeholder: "external id" });
  const addStatus = h("div", { class: "status-line", id: "face-add-status" });
  let chosen = null; // the list shown, or null for all faces of the account
  let urls = []; // object URLs of shown samples, revoked when replaced

  async function refreshLists() {
    const answer = await busy(listStatus, () => get("/1/lists", { page_size: 100 }));
    if (!answer) return;
    fill(
      listsBox,
      table(
        [
          ["name", (l) => h("a", { href: "#", onclick: (e) => { e.preventDefault(); choose(l); } }, l.user_data || "(no name)")],
          ["id", (l) => shortId(l.list_id)],
          ["faces", (l) => String(l.faces_count)],
          ["", (l) => h("button", { class: "small danger", onclick: () => removeList(l) }, "Delete")],
        ],
        answer.lists.map((l) => ({ ...l, __data: { listId: l.list_id, testid: "list-row" } })),
        { class: "list" },
      ),
      h("a", { href: "#", onclick: (e) => { e.preventDefault(); choose(null); } }, "all faces of the account"),
    );
  }

  async function createList() {
    const name = listName.value;
    const made = await busy(listStatus, () => post("/1/lists", { json: { user_data: name } }));
    if (!made) return;
    listName.value = "";
    await refreshLists();
    choose({ list_id: made.list_id, user_data: name });
  }

  async function removeList(list) {
    if (!confirm(`Remove list ${list.user_data || list.list_id}? Its faces stay.`)) return;
    await busy(listStatus, () => del(`/1/lists/${list.list_id}`));
    if (chosen && chosen.list_id === list.list_id) chosen = null;
    await refreshLists();
    await refreshFaces();
  }

  function choose(list) {
    chosen = list;
    refreshFaces();
  }

  async function refreshFaces() {
    facesTitle.textContent = chosen ? `Faces of list ${chosen.user_data || chosen.list_id}` : "Faces of the account";
    const answer = await busy(facesStatus, () => get("/1/faces", { list_id: chosen?.list_id, page_size: 100 }));
    if (!answer) return;
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
    fill(facesBox, answer.faces.length ? answer.faces.map(faceTile) : h("p", { class: "empty" }, "No faces."));
  }

  function faceTile(face) {
    const img = h("img", { alt: face.user_data || face.face_id, width: 125, height: 125 });
    const sample = face.avatar || (face.attributes?.samples?.[0] ? `/1/samples/faces/${face.attributes.samples[0]}` : null);
    if (sample) {
      imageUrl(sample)
        .then((url) => {
          urls.push(url);
          img.src = url;
        })
        .catch(() => img.classList.add("missing"));
    }
    return h(
      "figure",
      { class: "face-tile", dataset: { testid: "face-tile", faceId: face.face_id } },
      img,
      h("figcaption", {}, face.user_data || "(no name)", face.external_id ? ` · ${face.external_id}` : "", h("br"), shortId(face.face_id)),
      h("button", { class: "small danger", onclick: () => removeFace(face) }, "Delete"),
    );
  }

  async function removeFace(face) {
    if (!confirm(`Remove face ${face.user_data || face.face_id}?`)) return;
    await busy(facesStatus, () => del(`/1/faces/${face.face_id}`));
    await refreshFaces();
    await refreshLists();
  }

  /** The photo's best face stored as a sample, an attribute (descriptor, age, gender) made
   * from it, and a face holding that attribute, in the chosen list. */
  async function addFace(file) {
    const made = await busy(addStatus, async () => {
      const sdk = await post("/1/sdk", { params: { detect_face: 1, multiface_policy: 2, estimate_face_descriptor: 0 }, body: file });
      const image = sdk.images_estimations[0];
      if (image.status === 0) throw new Error(`${image.error.error_code}: ${image.error.detail}`);
      const face = image.estimations.find((e) => e.face)?.face;
      if (!face || !face.sample_id) throw new Error("no face found in this photo");
      const [attribute] = await post("/1/extractor", { params: { extract_basic_attributes: 1 }, json: [face.sample_id] });
      if (!attribute) throw new Error("the face's descriptor scored too low to keep");
      const body = {
        attribute: { attribute_id: attribute.attribute_id },
        user_data: faceName.value,
        avatar: `/1/samples/faces/${face.sample_id}`,
        lists: chosen ? [chosen.list_id] : [],
      };
      if (faceExternal.value.trim()) body.external_id = faceExternal.value.trim();
      return post("/1/faces", { json: body });
    });
    if (!made) return;
    fill(addStatus, h("span", { class: "ok", id: "face-added", dataset: { faceId: made.face_id } }, `made face ${made.face_id}`));
    await refreshFaces();
    await refreshLists();
  }

  root.append(
    h("p", { class: "intro" }, "Lists group faces for matching (/1/lists, /1/faces); each face shows its sample (/1/samples/faces/{id})."),
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        { class: "list-column" },
        h("h3", {}, "Lists"),
        h("div", { class: "row" }, listName, h("button", { onclick: createList, id: "list-create" }, "Create list")),
        listStatus,
        listsBox,
      ),
      h(
        "div",
        {},
        facesTitle,
        h("div", { class: "row" }, faceName, faceExternal, imagePicker("face-image", addFace, "Drop a photo to add its face to this list")),
        addStatus,
        facesStatus,
        facesBox,
      ),
    ),
  );
  refreshLists();
  refreshFaces();
}
