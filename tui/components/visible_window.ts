/** Which rows of a list fit in `height` lines and keep the selection in view. */
export function visibleWindow(length: number, selected: number, height: number): { from: number; to: number } {
  if (length <= height) return { from: 0, to: length };
  const from = Math.min(Math.max(selected - Math.floor(height / 2), 0), length - height);
  return { from, to: from + height };
}
