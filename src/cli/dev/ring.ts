// A FIFO bounded by item count and by estimated bytes: the store pushes, then evicts the oldest
// while either bound is exceeded. Storage grows with what is held (no array of `capacity` slots
// made up front: --max-spans may be ten million).

export class Ring<T> {
  private items: Array<T | undefined> = [];
  private sizes: number[] = [];
  private head = 0; // index of the oldest item
  private used = 0;

  constructor(readonly capacity: number, readonly maxBytes = Infinity) {}

  get size(): number {
    return this.items.length - this.head;
  }

  /** Estimated bytes held: the items' and what was charge()d for parts they share. */
  get bytes(): number {
    return this.used;
  }

  /** Adds an item of `bytes` estimated bytes; call overflow() next. */
  push(item: T, bytes = 0): void {
    this.items.push(item);
    this.sizes.push(bytes);
    this.used += bytes;
  }

  /** Bytes held outside the items but for them (a resource the spans share), and their return. */
  charge(bytes: number): void {
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }

  /** Removes and yields the oldest items while over a bound (an item bigger than the byte bound goes too). */
  *overflow(): Generator<T> {
    while (this.size > 0 && (this.size > this.capacity || this.used > this.maxBytes)) yield this.shift();
  }

  private shift(): T {
    const item = this.items[this.head] as T;
    // The slot lets go at once: an evicted item must not stay alive until the next compaction.
    this.items[this.head] = undefined;
    this.used -= this.sizes[this.head];
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.sizes = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      // Amortised O(1): the evicted half goes in one copy.
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Newest first. */
  *newest(): IterableIterator<T> {
    for (let i = this.items.length - 1; i >= this.head; i--) yield this.items[i] as T;
  }

  /** Oldest first. */
  *oldest(): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
  }
}
