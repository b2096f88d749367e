// Commands beyond script/doctor/capture, by name: each entry parses its own flags and returns an exit code.
export type CommandRunner = (args: string[]) => Promise<number>;

export const COMMANDS: Record<string, CommandRunner> = {};
