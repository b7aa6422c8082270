// Numbers and shapes written for people: 1,234,567 params, 12.3 MB, (None, 64).

export function formatCount(n) {
  return Number(n || 0).toLocaleString("en-US");
}

export function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = Number(bytes || 0);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatShape(shape) {
  if (!Array.isArray(shape)) return "?";
  return `(${["None", ...shape].join(", ")})`;
}
