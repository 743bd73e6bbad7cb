/** Builds the demo once per run (skipped when dist/ is newer than every source it is built from). */
import { buildDemo } from '@convsync/demo';

export default async function setup(): Promise<void> {
  await buildDemo();
}
