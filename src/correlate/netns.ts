// Network namespaces by inode: the names `ip netns` gives them (/run/netns), so a change elsewhere says where it was.
import { readdirSync, statSync } from 'node:fs';

/**
 * inode -> name, read again at most once a second when an unknown inode is asked for, and at once when a known name no
 * longer has that inode: a deleted namespace's inode is given to the next one (seen: `ifbc` deleted, `ifbns1` made).
 */
export class NetnsNames {
  private names = new Map<number, string>();
  private readAt = 0;

  constructor(private readonly dir = '/run/netns') {}

  nameOf(inode: number): string | undefined {
    const known = this.names.get(inode);
    if (known !== undefined) {
      if (this.inodeOf(known) === inode) return known;
      this.read();
    } else if (Date.now() - this.readAt > 1000) this.read();
    return this.names.get(inode);
  }

  private inodeOf(name: string): number | undefined {
    try {
      return statSync(`${this.dir}/${name}`).ino;
    } catch {
      return undefined;
    }
  }

  private read(): void {
    this.readAt = Date.now();
    const names = new Map<number, string>();
    try {
      for (const n of readdirSync(this.dir)) {
        try {
          names.set(statSync(`${this.dir}/${n}`).ino, n);
        } catch {
          /* a namespace being deleted */
        }
      }
    } catch {
      /* no /run/netns: no named namespaces */
    }
    this.names = names;
  }
}
