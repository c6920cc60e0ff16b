// Events: an image posted to a handler (POST /1/handlers/{id}/events) and the events it made,
// drawn on the image; and the live view of the account's new events over WS /1/ws.

import { eventsSocketProtocols, eventsSocketUrl, get, post } from "../api.js";
import { drawFaces } from "../draw.js";
import { busy, fill, fmt, h, imagePicker, jsonDetails, loadImage, shortId } from "../ui.js";

export const title = "Events";

// The socket outlives the view while it is shown; leaving the view closes it (app.js calls
// the function render returns).
export function render(root, params) {
  const handlerSelect = h("select", { name: "handler" }, h("option", { value: "" }, "—"));
  const status = h("div", { class: "status-line" });
  const canvas = h("canvas", { class: "photo", id: "event-canvas" });
  const result = h("div", { id: "event-result", class: "faces" });
  const raw = h("div");
  const liveFilter = h("select", { name: "live-handler" }, h("option", { value: "" }, "all handlers"));
  const liveState = h("span", { id: "live-state", class: "badge-state" }, "disconnected");
  const liveList = h("ol", { id: "live-events", class: "live", reversed: true });
  let file = null;
  let socket = null;

  async function loadHandlers() {
    const handlers = await busy(status, () => get("/1/handlers", { page_size: 100 }));
    if (!handlers) return;
    const options = handlers.map((x) => h("option", { value: x.handler_id }, `${x.description || "(no description)"} ${x.handler_id.slice(0, 8)}`));
    fill(handlerSelect, h("option", { value: "" }, "—"), options);
    fill(liveFilter, h("option", { value: "" }, "all handlers"), options.map((o) => o.cloneNode(true)));
    if (params.get("handler")) handlerSelect.value = params.get("handler");
    else if (handlers.length) handlerSelect.value = handlers[0].handler_id;
  }

  async function send() {
    if (!file) return;
    if (!handlerSelect.value) {
      fill(status, h("div", { class: "error" }, "Choose a handler first (create one in Handlers)."));
      return;
    }
    fill(result);
    fill(raw);
    const [answer, image] = await Promise.all([
      busy(status, () => post(`/1/handlers/${handlerSelect.value}/events`, { body: file })),
      loadImage(file).catch(() => null),
    ]);
    if (!answer) return;
    const faces = [];
    answer.events.forEach((event, e) => {
      for (const detection of event.detections || []) {
        const face = detection.samples?.face?.detection;
        if (face) faces.push({ ...face, label: `E${e + 1}`, filtered: false });
      }
    });
    const filtered = answer.filtered_detections?.face_detections || [];
    filtered.forEach((f, i) => faces.push({ ...f.detection.sample.detection, label: `F${i + 1}`, filtered: true }));
    if (image) drawFaces(canvas, image, faces);
    const imageErrors = (answer.images || []).filter((i) => i.status === 0);
    fill(
      status,
      h("span", { id: "event-summary" }, `${answer.events.length} event(s)`, filtered.length ? `, ${filtered.length} filtered face(s)` : ""),
      imageErrors.map((i) => h("div", { class: "error" }, `${i.error.error_code}: ${i.error.detail}`)),
    );
    fill(
      result,
      answer.events.map((event, e) => eventCard(`E${e + 1}`, event)),
      filtered.map((f, i) =>
        h(
          "div",
          { class: "face-card filtered", dataset: { testid: "filtered-face" } },
          h("div", { class: "badge" }, `F${i + 1}`),
          h("ul", {}, f.filter_reasons.map((r) => h("li", { class: "reason" }, `${r.filter_name}: ${fmt(r.object_value, 2)} (threshold ${JSON.stringify(r.threshold_value)})`))),
        ),
      ),
    );
    fill(raw, jsonDetails("answer of the handler", answer));
  }

  function connect() {
    disconnect();
    const url = eventsSocketUrl(liveFilter.value);
    socket = new WebSocket(url, eventsSocketProtocols());
    liveState.textContent = "connecting";
    socket.onopen = () => {
      liveState.textContent = "connected";
      liveState.dataset.state = "open";
    };
    socket.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      liveList.prepend(liveItem(event));
      while (liveList.children.length > 50) liveList.lastChild.remove();
    };
    socket.onclose = (close) => {
      liveState.dataset.state = "closed";
      // A subscription the service refuses before the handshake reaches a browser as 1006
      // with no reason; a socket closed later says why in its code and reason.
      liveState.textContent = close.code === 1000 || close.code === 1005 ? "disconnected" : `closed ${close.code}${close.reason ? `: ${close.reason}` : ""}`;
    };
  }

  function disconnect() {
    if (socket) {
      socket.onclose = null;
      socket.close(1000);
      socket = null;
    }
    liveState.textContent = "disconnected";
    liveState.dataset.state = "closed";
  }

  root.append(
    h("p", { class: "intro" }, "POST /1/handlers/{id}/events runs the handler's policies on an image; events its notification policy sends arrive in the live view."),
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        {},
        h("h3", {}, "Post an image"),
        h("div", { class: "row" }, h("label", { class: "field inline" }, h("span", { class: "label" }, "handler"), handlerSelect), h("button", { onclick: loadHandlers, class: "small" }, "Reload")),
        h("div", { class: "row" }, imagePicker("event-image", (f) => { file = f; send(); }), h("button", { onclick: send }, "Post again")),
        status,
        h("div", { class: "result" }, canvas, result),
        raw,
      ),
      h(
        "div",
        { class: "list-column" },
        h("h3", {}, "Live events (WS /1/ws)"),
        h("div", { class: "row" }, liveFilter, h("button", { onclick: connect, id: "live-connect" }, "Connect"), h("button", { onclick: disconnect }, "Disconnect"), liveState),
        liveList,
      ),
    ),
  );
  loadHandlers().then(connect);
  return disconnect;
}

function eventCard(label, event) {
  const rows = [["event", shortId(event.event_id)]];
  const basic = event.face_attributes?.basic_attributes;
  if (basic) rows.push(["age, gender", `${basic.age}, ${basic.gender === 1 ? "male" : "female"}`]);
  if (event.face_attributes?.score !== undefined && event.face_attributes?.score !== null) rows.push(["descriptor score", fmt(event.face_attributes.score)]);
  if (event.face) rows.push(["face", shortId(event.face.face_id)]);
  if (event.tags?.length) rows.push(["tags", event.tags.join(", ")]);
  for (const match of event.matches || []) {
    const best = match.candidates?.[0];
    const who = best ? `${best.face?.user_data || best.face?.face_id || best.event?.event_id} (${fmt(best.similarity)})` : "no candidate";
    rows.push([`match ${match.label}`, who]);
  }
  return h(
    "div",
    { class: "face-card", dataset: { testid: "event", eventId: event.event_id } },
    h("div", { class: "badge" }, label),
    h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
  );
}

function liveItem(event) {
  const basic = event.face_attributes?.basic_attributes;
  return h(
    "li",
    { dataset: { testid: "live-event", eventId: event.event_id } },
    h("time", {}, new Date().toLocaleTimeString()),
    " ",
    shortId(event.event_id),
    ` ${(event.detections || []).length} detection(s)`,
    basic ? `, age ${basic.age}, ${basic.gender === 1 ? "male" : "female"}` : "",
    event.tags?.length ? `, tags ${event.tags.join(", ")}` : "",
  );
}
