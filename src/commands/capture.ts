// placeholder replaced below
export async function runCaptureCli(_args: string[]): Promise<number> { return 2; }
