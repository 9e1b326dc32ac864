/**
 * The next-slot table of tests/schedule/timing.test.ts, shared with the run of the same table
 * under Deno: each row is a timing, an instant, and the slots that follow it (UTC ISO strings).
 */
export interface SlotCase {
  name: string;
  spec: { cron?: string; every?: string | number; zone?: string };
  after: string;
  /** The anchor of an `every` timing; cron rows ignore it. */
  anchor?: string;
  /** The next slots in order; "none" where the timing never matches again. */
  expect: string[];
}

export const SLOT_CASES: SlotCase[] = [
  {
    name: "UTC every five minutes",
    spec: { cron: "*/5 * * * *" },
    after: "2026-01-01T00:02:59Z",
    expect: ["2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z"],
  },
  {
    name: "an instant on a slot is not its own next slot",
    spec: { cron: "*/5 * * * *" },
    after: "2026-01-01T00:05:00Z",
    expect: ["2026-01-01T00:10:00Z"],
  },
  {
    name: "a half-hour zone (Asia/Kolkata, +05:30)",
    spec: { cron: "0 9 * * *", zone: "Asia/Kolkata" },
    after: "2026-01-01T00:00:00Z",
    expect: ["2026-01-01T03:30:00Z"],
  },
  {
    name: "a quarter-hour zone (Asia/Kathmandu, +05:45)",
    spec: { cron: "0 9 * * *", zone: "Asia/Kathmandu" },
    after: "2026-01-01T00:00:00Z",
    expect: ["2026-01-01T03:15:00Z"],
  },
  {
    name: "a zone west of UTC crosses the UTC date",
    spec: { cron: "0 22 * * *", zone: "America/Los_Angeles" },
    after: "2026-07-01T00:00:00Z",
    expect: ["2026-07-01T05:00:00Z", "2026-07-02T05:00:00Z"],
  },
  // Europe/Berlin: 2026-03-29 02:00 CET jumps to 03:00 CEST; 2026-10-25 03:00 CEST falls back to 02:00 CET.
  {
    name: "Berlin gap: 02:30 does not exist and runs when the gap ends, 03:00 CEST",
    spec: { cron: "30 2 * * *", zone: "Europe/Berlin" },
    after: "2026-03-28T12:00:00Z",
    expect: ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"],
  },
  {
    name: "Berlin gap: several slots in the gap run once",
    spec: { cron: "*/20 2 * * *", zone: "Europe/Berlin" },
    after: "2026-03-28T12:00:00Z",
    expect: ["2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"],
  },
  {
    name: "Berlin gap: hourly runs 02:00 (gap) and 03:00 as one slot",
    spec: { cron: "0 * * * *", zone: "Europe/Berlin" },
    after: "2026-03-28T23:30:00Z",
    expect: ["2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"],
  },
  {
    name: "Berlin repeat: 02:30 happens twice and runs the first time only",
    spec: { cron: "30 2 * * *", zone: "Europe/Berlin" },
    after: "2026-10-24T12:00:00Z",
    expect: ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
  },
  {
    name: "Berlin repeat: from inside the second pass, the repeated wall time is past",
    spec: { cron: "45 2 * * *", zone: "Europe/Berlin" },
    after: "2026-10-25T01:15:00Z",
    expect: ["2026-10-26T01:45:00Z"],
  },
  {
    name: "Berlin repeat: hourly skips the second 02:00",
    spec: { cron: "0 * * * *", zone: "Europe/Berlin" },
    after: "2026-10-24T23:30:00Z",
    expect: ["2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"],
  },
  // America/New_York: 2026-03-08 02:00 EST jumps to 03:00 EDT; 2026-11-01 02:00 EDT falls back to 01:00 EST.
  {
    name: "New York gap: 02:30 runs at 03:00 EDT",
    spec: { cron: "30 2 * * *", zone: "America/New_York" },
    after: "2026-03-07T12:00:00Z",
    expect: ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"],
  },
  {
    name: "New York repeat: 01:30 runs at 01:30 EDT only",
    spec: { cron: "30 1 * * *", zone: "America/New_York" },
    after: "2026-10-31T12:00:00Z",
    expect: ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
  },
  // Australia/Lord_Howe shifts by 30 minutes: 2026-04-05 02:00 (+11) falls back to 01:30 (+10:30); 2026-10-04 02:00 jumps to 02:30.
  {
    name: "Lord Howe repeat of 30 minutes: 01:45 runs the first time only",
    spec: { cron: "45 1 * * *", zone: "Australia/Lord_Howe" },
    after: "2026-04-04T00:00:00Z",
    expect: ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"],
  },
  {
    name: "Lord Howe after the repeat: 02:15 is at +10:30",
    spec: { cron: "15 2 * * *", zone: "Australia/Lord_Howe" },
    after: "2026-04-04T00:00:00Z",
    expect: ["2026-04-04T15:45:00Z"],
  },
  {
    name: "Lord Howe gap of 30 minutes: 02:15 runs at 02:30 (+11)",
    spec: { cron: "15 2 * * *", zone: "Australia/Lord_Howe" },
    after: "2026-10-03T00:00:00Z",
    expect: ["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"],
  },
  {
    name: "month ends: the 31st skips the short months",
    spec: { cron: "0 0 31 * *" },
    after: "2026-01-31T12:00:00Z",
    expect: ["2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"],
  },
  {
    name: "month ends: the 30th skips February",
    spec: { cron: "0 0 30 * *" },
    after: "2026-01-30T12:00:00Z",
    expect: ["2026-03-30T00:00:00Z"],
  },
  {
    name: "leap days: 29 February from 2026 is in 2028, then 2032",
    spec: { cron: "0 0 29 2 *" },
    after: "2026-01-01T00:00:00Z",
    expect: ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"],
  },
  {
    name: "leap days: 2100 is not a leap year, so 2096 is followed by 2104",
    spec: { cron: "0 0 29 2 *" },
    after: "2096-03-01T00:00:00Z",
    expect: ["2104-02-29T00:00:00Z"],
  },
  {
    name: "a day that never comes (30 February) has no next slot",
    spec: { cron: "0 0 30 2 *" },
    after: "2026-01-01T00:00:00Z",
    expect: ["none"],
  },
  {
    name: "both day fields restricted: either matches (Fridays or the 13th)",
    spec: { cron: "0 0 13 * 5" },
    after: "2026-01-01T00:00:00Z",
    expect: ["2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"],
  },
  {
    name: "a starred day field: both must match (odd days that are Fridays)",
    spec: { cron: "0 0 */2 * 5" },
    after: "2026-01-01T00:00:00Z",
    expect: ["2026-01-09T00:00:00Z", "2026-01-23T00:00:00Z"],
  },
  {
    name: "weekday 7 and names are Sunday",
    spec: { cron: "0 12 * jan-feb 7" },
    after: "2026-01-01T00:00:00Z",
    expect: ["2026-01-04T12:00:00Z"],
  },
  {
    name: "the seconds field: every 15 seconds",
    spec: { cron: "*/15 * * * * *" },
    after: "2026-01-01T00:00:00Z",
    expect: ["2026-01-01T00:00:15Z", "2026-01-01T00:00:30Z", "2026-01-01T00:00:45Z", "2026-01-01T00:01:00Z"],
  },
  {
    name: "the seconds field: second 30 of 12:00 in Berlin",
    spec: { cron: "30 0 12 * * *", zone: "Europe/Berlin" },
    after: "2026-07-01T00:00:00Z",
    expect: ["2026-07-01T10:00:30Z"],
  },
  {
    name: "the @monthly nickname in Berlin",
    spec: { cron: "@monthly", zone: "Europe/Berlin" },
    after: "2026-01-15T00:00:00Z",
    expect: ["2026-01-31T23:00:00Z", "2026-02-28T23:00:00Z"],
  },
  {
    name: "every 90s from the anchor",
    spec: { every: "90s" },
    anchor: "2026-01-01T00:00:00Z",
    after: "2026-01-01T00:00:00Z",
    expect: ["2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z"],
  },
  {
    name: "every 2.5 seconds (a number is seconds)",
    spec: { every: 2.5 },
    anchor: "2026-01-01T00:00:00Z",
    after: "2026-01-01T00:00:06Z",
    expect: ["2026-01-01T00:00:07.500Z", "2026-01-01T00:00:10Z"],
  },
  {
    name: "every 1h30m keeps its interval across the Berlin gap",
    spec: { every: "1h30m", zone: "Europe/Berlin" },
    anchor: "2026-03-28T23:00:00Z",
    after: "2026-03-28T23:00:00Z",
    expect: ["2026-03-29T00:30:00Z", "2026-03-29T02:00:00Z", "2026-03-29T03:30:00Z"],
  },
  {
    name: "every 7m keeps its interval across the New York repeat",
    spec: { every: "7m", zone: "America/New_York" },
    anchor: "2026-11-01T05:55:00Z",
    after: "2026-11-01T05:56:00Z",
    expect: ["2026-11-01T06:02:00Z", "2026-11-01T06:09:00Z"],
  },
  {
    name: "every: an instant before the anchor gets the first slot, one interval after it",
    spec: { every: "1h" },
    anchor: "2026-01-01T00:00:00Z",
    after: "2025-12-31T00:00:00Z",
    expect: ["2026-01-01T01:00:00Z"],
  },
];
