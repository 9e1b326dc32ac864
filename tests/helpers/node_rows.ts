/** A row of `nodes` as the TUI's state holds it (tui/state.ts), for tests of the nodes panel and its reducer. */
export const nodeRow = (id: string, address: string, state = "live", jobs = 0, heartbeatAgeMs = 1000) => ({
  node: id,
  address,
  heartbeatAgeMs,
  jobs,
  state,
});
