/**
 * First-start content for `npm start`: a few people, a team and some messages, so a new database
 * shows a lively inbox. Only the server's programmatic API is used (as a backend would).
 */
import type { ConvSyncServer } from '@convsync/server';

/** The accounts a visitor can sign in as. */
export const DEMO_ACCOUNTS = ['alice', 'bob', 'carol', 'dave'] as const;

const PEOPLE = [
  { accountId: 'alice', name: 'Alice Chen' },
  { accountId: 'bob', name: 'Bob Martin' },
  { accountId: 'carol', name: 'Carol Diaz' },
  { accountId: 'dave', name: 'Dave Kim' },
  { accountId: 'erin', name: 'Erin Walsh' },
];

const P2P = 1;
const TEAM = 2;

export async function seedDemo(server: ConvSyncServer): Promise<void> {
  for (const person of PEOPLE) await server.upsertUser(person);
  await server.createTeam({ teamId: 'launch', name: 'Launch crew', memberIds: ['alice', 'bob', 'carol', 'dave'] });
  await server.createTeam({ teamId: 'design', name: 'Design reviews', memberIds: ['alice', 'carol', 'erin'] });
  const say = (from: string, conversationType: number, targetId: string, text: string) =>
    server.sendMessage({ from, conversationType: conversationType as 1, targetId, text });
  await say('erin', P2P, 'alice', 'The new icons are in the shared folder.');
  await say('carol', TEAM, 'design', 'Review at 3pm: onboarding flow, round two.');
  await say('erin', TEAM, 'design', 'I will bring the prototype.');
  await say('alice', P2P, 'dave', 'Can you check the release notes before Friday?');
  await say('dave', P2P, 'alice', 'Sure, on it this afternoon.');
  await say('bob', TEAM, 'launch', 'Staging is green, ready for the dry run.');
  await say('carol', TEAM, 'launch', 'Great! Dry run at 10 tomorrow?');
  await say('dave', TEAM, 'launch', 'Works for me!');
  await say('carol', P2P, 'alice', 'Sent you the slides for Monday.');
  await say('bob', P2P, 'alice', 'Hey Alice, are we still on for lunch?');
  await say('bob', P2P, 'alice', 'I can book the usual place at 12:30.');
  await say('alice', P2P, 'bob', 'Yes! 12:30 works.');
  await say('bob', P2P, 'carol', 'Coffee later?');
}
