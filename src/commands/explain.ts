// `ifblame explain`: placeholder until written below.
import { IfblameError } from '../errors.js';
export async function runExplain(_args: string[]): Promise<number> {
  throw new IfblameError('explain: not implemented yet');
}
