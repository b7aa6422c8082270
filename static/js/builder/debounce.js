// Calls fn once its arguments have stopped changing for ms milliseconds (typing, dragging).
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
