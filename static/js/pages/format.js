// Numbers for people, the same rules as webapp/templatetags/layerloom.py.

export function grouped(value) {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "";
}

export function size(bytes) {
  if (!Number.isFinite(bytes)) return "";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let amount = bytes;
  for (const unit of units) {
    if (Math.abs(amount) < 1000 || unit === "TB") {
      return unit === "bytes" ? `${grouped(amount)} bytes` : `${amount.toFixed(1)} ${unit}`;
    }
    amount /= 1000;
  }
  return "";
}

export function duration(seconds) {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = whole % 60;
  if (hours) return `${hours} h ${minutes} min`;
  if (minutes) return `${minutes} min ${secs} s`;
  return `${secs} s`;
}

export function metric(value) {
  if (value === null || value === undefined) return "—";
  return Number.isFinite(value) ? Number(value.toPrecision(4)).toString() : String(value);
}

// A status word with its first letter raised: "running" -> "Running".
export function statusWord(status) {
  return status ? status[0].toUpperCase() + status.slice(1) : "";
}
