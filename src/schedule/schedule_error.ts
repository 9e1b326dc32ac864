/** A schedule's timing that cannot be used: the message names the field and the value. */
export class ScheduleError extends Error {
  readonly code = "INVALID_SCHEDULE";
  constructor(message: string) {
    super(message);
    this.name = "ScheduleError";
  }
}
