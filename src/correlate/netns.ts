// Network namespaces by inode: the names `ip netns` gives them (/run/netns), so a change elsewhere says where it was.
import { readdirSync, statSync } from 'node:fs';

/** inode -> name, read again at most once a second when an unknown inode is asked for. */
export class NetnsNames {
  private names = new Map<number, string>();
  private readAt = 0;

  constructor(private readonly dir = '/run/netns') {}

  nameOf(inode: number): string | undefined {
    if (!this.names.has(inode) && Date.now() - this.readAt > 1000) this.read();
    return this.names.get(inode);
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
