/**
 * Writes `test/fixtures/replica-v0.json`: every storage instance of a replica written by the v0
 * engine (schema version 0, RxDB's replication plugin), as raw RxStorage rows. It was run once on
 * the v0 engine and its output is checked in; `test/upgrade-v0.test.ts` loads those rows into a
 * fresh storage and opens today's engine on them. Rerunning it on a later engine writes that
 * engine's replica instead (then name the output after its schema version).
 *
 * The replica: account alice, whose server log holds `FIXTURE_SENDS` (replayed in the same order
 * by the test, so the stored checkpoint means the same log position there), fully synced; then,
 * offline, an edit (pin alice|1|u2) and a message to alice|1|u3, neither delivered.
 *
 * Run: `node --conditions=source --import tsx packages/engine/scripts/make-replica-v0-fixture.ts [out.json]`
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, filter } from 'rxjs';
import { getChangedDocumentsSince, type RxStorage, type RxStorageInstance, type RxStorageInstanceCreationParams } from 'rxdb';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { startServer } from '@convsync/server';
import type { SessionEndpoint } from '@convsync/protocol';
import { createConversationEngine, InMemoryTransport } from '../src/index.js';

/** The server's log before the replica was written: `{from, text}` sent to alice, in order. */
export const FIXTURE_SENDS = [0, 1, 2, 3, 4].map((i) => ({ from: `u${i}`, text: `hello ${i}` }));
export const FIXTURE_DEVICE_ID = 'dfixture-v0';

interface DumpedInstance {
  collectionName: string;
  schema: unknown;
  options: unknown;
  rows: unknown[];
}

async function main(): Promise<void> {
  const out = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'replica-v0.json');
  const base = getRxStorageMemory() as RxStorage<unknown, unknown>;
  const created: { params: RxStorageInstanceCreationParams<unknown, unknown>; instance: RxStorageInstance<unknown, unknown, unknown> }[] = [];
  const recording: RxStorage<unknown, unknown> = {
    name: base.name,
    rxdbVersion: base.rxdbVersion,
    async createStorageInstance(params) {
      const instance = await base.createStorageInstance(params);
      created.push({ params: params as RxStorageInstanceCreationParams<unknown, unknown>, instance: instance as RxStorageInstance<unknown, unknown, unknown> });
      return instance;
    },
  };

  const server = await startServer({ database: ':memory:', port: 0 });
  for (const send of FIXTURE_SENDS) await server.sendMessage({ from: send.from, conversationType: 1, targetId: 'alice', text: send.text });
  const token = await server.issueToken('alice');
  const engine = await createConversationEngine({
    token,
    storage: recording,
    databaseName: 'replica-v0',
    deviceId: FIXTURE_DEVICE_ID,
    transport: ({ deviceId, now }) => new InMemoryTransport({ open: (): Promise<SessionEndpoint> => server.connectInProcess(token, { deviceId }), now }),
  });
  await firstValueFrom(engine.syncState$.pipe(filter((state) => state === 'synced')));
  if (engine.conversationService.getTotalUnreadCount() !== FIXTURE_SENDS.length) throw new Error('the fixture replica did not sync');
  engine.disconnect();
  await firstValueFrom(engine.syncState$.pipe(filter((state) => state === 'offline')));
  await engine.conversationService.stickTopConversation('alice|1|u2', true);
  await engine.messageService.sendMessage('alice|1|u3', { text: 'written offline' });

  const dump: DumpedInstance[] = [];
  for (const { params, instance } of created) {
    const rows: unknown[] = [];
    let checkpoint: unknown;
    for (;;) {
      const page = await getChangedDocumentsSince(instance, 1000, checkpoint);
      rows.push(...page.documents);
      if (page.documents.length < 1000) break;
      checkpoint = page.checkpoint;
    }
    dump.push({ collectionName: params.collectionName, schema: params.schema, options: params.options, rows });
  }
  await engine.close();
  await server.close();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ databaseName: 'replica-v0', deviceId: FIXTURE_DEVICE_ID, sends: FIXTURE_SENDS, instances: dump }, null, 1)}\n`);
  console.log(`wrote ${out}: ${dump.map((d) => `${d.collectionName} (${d.rows.length})`).join(', ')}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
