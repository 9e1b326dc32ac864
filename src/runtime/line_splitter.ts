/**
 * Bytes in, text lines out: UTF-8 decoded across chunk boundaries, `\r\n`
 * or `\n` endings, and a cap on a line still being collected (so a peer
 * without newlines cannot make us buffer without bound).
 *
 * @module
 */

export interface LineSplitterOptions {
  maxLine: number;
  /**
   * Called once when an unfinished line passes `maxLine`; the splitter then
   * stops. Without it, an overlong line is passed on in `maxLine` pieces.
   */
  onOverflow?: () => void;
}

export class LineSplitter {
  readonly #decoder = new TextDecoder();
  readonly #onLine: (line: string) => void;
  readonly #options: LineSplitterOptions;
  #buffer = "";
  #stopped = false;

  constructor(onLine: (line: string) => void, options: LineSplitterOptions) {
    this.#onLine = onLine;
    this.#options = options;
  }

  /** Stops passing lines on (the rest of the input is ignored). */
  stop(): void {
    this.#stopped = true;
  }

  push(chunk: Uint8Array): void {
    if (this.#stopped) return;
    this.#buffer += this.#decoder.decode(chunk, { stream: true });
    let nl: number;
    while (!this.#stopped && (nl = this.#buffer.indexOf("\n")) !== -1) {
      const line = this.#buffer.slice(0, nl).replace(/\r$/, "");
      this.#buffer = this.#buffer.slice(nl + 1);
      this.#onLine(line);
    }
    const max = this.#options.maxLine;
    if (this.#stopped || this.#buffer.length <= max) return;
    if (this.#options.onOverflow) {
      this.#stopped = true;
      this.#options.onOverflow();
      return;
    }
    while (this.#buffer.length > max) {
      this.#onLine(this.#buffer.slice(0, max));
      this.#buffer = this.#buffer.slice(max);
    }
  }

  /** The input ended: a last line without a newline is passed on. */
  end(): void {
    if (this.#stopped) return;
    this.#buffer += this.#decoder.decode();
    if (this.#buffer !== "") this.#onLine(this.#buffer);
    this.#buffer = "";
  }
}
