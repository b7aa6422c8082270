// A layer's output shape written for people: (None, 64), the batch dimension first.

export function formatShape(shape) {
  if (!Array.isArray(shape)) return "?";
  return `(${["None", ...shape].join(", ")})`;
}
