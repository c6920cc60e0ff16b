// Faces drawn over their image on a canvas: boxes, 5 landmarks and a number per face that the
// list beside the canvas repeats. Filtered faces are drawn dashed, in another colour.

const KEPT = "#19c37d";
const FILTERED = "#ff6b3d";
const MAX_WIDTH = 900;

/**
 * Draw ``image`` (an HTMLImageElement) on ``canvas`` with ``faces``:
 * [{rect: {x, y, width, height}, landmarks5: [[x, y], ...], label: "1", filtered: bool}].
 * The canvas keeps the image's size in pixels up to ``maxWidth`` (CSS scales it further;
 * drawn near the size shown, lines and labels stay readable).
 */
export function drawFaces(canvas, image, faces, maxWidth = MAX_WIDTH) {
  const scale = Math.min(1, maxWidth / image.naturalWidth);
  canvas.width = Math.round(image.naturalWidth * scale);
  canvas.height = Math.round(image.naturalHeight * scale);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  // Lines and text keep a readable size on large photos shown small.
  const line = Math.max(2, Math.round(canvas.width / 400));
  ctx.font = `bold ${Math.max(12, line * 7)}px system-ui, sans-serif`;
  for (const face of faces) {
    const colour = face.filtered ? FILTERED : KEPT;
    const { x, y, width, height } = face.rect;
    ctx.lineWidth = line;
    ctx.strokeStyle = colour;
    ctx.setLineDash(face.filtered ? [line * 4, line * 3] : []);
    ctx.strokeRect(x * scale, y * scale, width * scale, height * scale);
    ctx.setLineDash([]);
    ctx.fillStyle = colour;
    for (const [px, py] of face.landmarks5 || []) {
      ctx.beginPath();
      ctx.arc(px * scale, py * scale, line * 1.2, 0, 2 * Math.PI);
      ctx.fill();
    }
    if (face.label) {
      const text = String(face.label);
      const metrics = ctx.measureText(text);
      const pad = line * 2;
      const boxHeight = line * 7 + pad;
      const top = Math.max(0, y * scale - boxHeight);
      ctx.fillRect(x * scale, top, metrics.width + pad * 2, boxHeight);
      ctx.fillStyle = "#fff";
      ctx.fillText(text, x * scale + pad, top + boxHeight - pad);
    }
  }
  canvas.classList.add("drawn");
  canvas.dataset.faces = String(faces.filter((f) => !f.filtered).length);
  canvas.dataset.filtered = String(faces.filter((f) => f.filtered).length);
}
