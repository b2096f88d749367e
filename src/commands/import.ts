// `ifblame import`: placeholder until written below.
import { IfblameError } from '../errors.js';
export async function runImport(_args: string[]): Promise<number> {
  throw new IfblameError('import: not implemented yet');
}
