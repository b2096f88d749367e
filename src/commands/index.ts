// Commands beyond script/doctor/capture, by name: each entry parses its own flags and returns an exit code.
export type CommandRunner = (args: string[]) => Promise<number>;

export const COMMANDS: Record<string, CommandRunner> = {
  replay: async (args) => (await import('./replay.js')).runReplay(args),
  import: async (args) => (await import('./import.js')).runImport(args),
  explain: async (args) => (await import('./explain.js')).runExplain(args),
  live: async (args) => (await import('./live.js')).runLive(args),
};
