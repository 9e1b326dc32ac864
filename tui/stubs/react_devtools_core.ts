/**
 * Stands in for `react-devtools-core`, which Ink imports only when DEV=true.
 * `bun build --compile` must resolve every import; the real package is not a
 * dependency (docs/runtime.md §6), so tsconfig's `paths` points here.
 */
export default {
  initialize(): void {},
  connectToDevTools(): void {},
};
