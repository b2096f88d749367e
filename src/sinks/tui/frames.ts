// Coalesced rendering: events only mark the model dirty; a timer draws at most `fps` frames a second, so a storm costs nothing extra.
export class FrameLoop {
  private timer: NodeJS.Timeout | null = null;
  frames = 0;

  constructor(
    private readonly frame: () => boolean,
    readonly fps = 30,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.run(), Math.ceil(1000 / this.fps));
  }

  /** Draw now if anything changed (also used right after a key, and for the first frame). */
  run(): void {
    if (this.frame()) this.frames++;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
