// A fixed-capacity FIFO: pushing into a full ring drops (and returns) the oldest item.

export class Ring<T> {
  private readonly items: Array<T | undefined>;
  private head = 0; // index of the oldest item
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Adds an item; returns the one evicted to make room, if any. */
  push(item: T): T | undefined {
    if (this.count < this.capacity) {
      this.items[(this.head + this.count) % this.capacity] = item;
      this.count++;
      return undefined;
    }
    const evicted = this.items[this.head];
    this.items[this.head] = item;
    this.head = (this.head + 1) % this.capacity;
    return evicted;
  }

  /** Newest first. */
  *newest(): IterableIterator<T> {
    for (let i = this.count - 1; i >= 0; i--) yield this.items[(this.head + i) % this.capacity] as T;
  }

  /** Oldest first. */
  *oldest(): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.items[(this.head + i) % this.capacity] as T;
  }
}
