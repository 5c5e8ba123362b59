/** The last `max` bytes of a stream of chunks, as UTF-8: what a command's result keeps of its output. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= this.max) this.bytes -= this.chunks.shift()!.length;
  }

  text(): string {
    let all = Buffer.concat(this.chunks);
    if (all.length > this.max) all = all.subarray(all.length - this.max);
    // A cut inside a character leaves replacement characters at the start.
    return all.toString('utf8').replace(/^\uFFFD+/, '');
  }
}
