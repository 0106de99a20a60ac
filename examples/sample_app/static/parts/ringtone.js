// A ringtone made with WebAudio (no audio file): two mixed tones in a ring-ring cadence while
// an incoming call or a group-call invitation waits for an answer.

export class Ringtone {
  /** @type {AudioContext | null} */
  #context = null;
  /** @type {ReturnType<typeof setInterval> | null} */
  #timer = null;
  #nodes = [];

  get isRinging() {
    return this.#timer !== null;
  }

  /** True while the tone is actually audible (the AudioContext runs). */
  get isAudible() {
    return this.isRinging && this.#context?.state === "running";
  }

  start() {
    if (this.#timer) return;
    this.#context ??= new AudioContext();
    this.#context.resume().catch(() => {});
    const ring = () => {
      const ctx = /** @type {AudioContext} */ (this.#context);
      const now = ctx.currentTime;
      const gain = ctx.createGain();
      gain.gain.value = 0;
      gain.connect(ctx.destination);
      for (const [offset] of [[0], [0.6]]) {
        gain.gain.setValueAtTime(0.12, now + offset);
        gain.gain.setValueAtTime(0, now + offset + 0.4);
      }
      for (const frequency of [440, 480]) {
        const oscillator = ctx.createOscillator();
        oscillator.frequency.value = frequency;
        oscillator.connect(gain);
        oscillator.start(now);
        oscillator.stop(now + 1.1);
        this.#nodes.push(oscillator);
      }
    };
    ring();
    this.#timer = setInterval(ring, 3000);
  }

  stop() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#nodes.forEach((node) => {
      try {
        node.stop();
      } catch {
        // already stopped
      }
    });
    this.#nodes = [];
  }
}
