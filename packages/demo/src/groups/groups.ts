/**
 * Conversation groups (folders): the list, kept current from the group service's events, the
 * dialog that creates, renames and deletes groups, and the dialog that puts one conversation in or
 * out of groups.
 */
import { useEffect, useState } from 'preact/hooks';
import { html } from '../app/html.js';
import type { Conversation, ConversationGroup, Engine } from '../session/engine.js';
import { Dialog } from '../ui/dialog.js';

type GroupService = Engine['conversationGroupService'];

const GROUP_EVENTS = ['onConversationGroupCreated', 'onConversationGroupDeleted', 'onConversationGroupChanged'] as const;

/** Every group of the account, by name, refreshed on every group event (local or replicated). */
export function useGroups(service: GroupService): ConversationGroup[] {
  const [groups, setGroups] = useState<ConversationGroup[]>([]);
  useEffect(() => {
    let live = true;
    const refresh = (): void => {
      service.getConversationGroupList().then(
        (list) => { if (live) setGroups([...list].sort((a, b) => a.name.localeCompare(b.name) || a.createTime - b.createTime)); },
        (error: unknown) => console.warn('groups', error),
      );
    };
    refresh();
    for (const event of GROUP_EVENTS) service.on(event, refresh);
    return () => {
      live = false;
      for (const event of GROUP_EVENTS) service.off(event, refresh);
    };
  }, [service]);
  return groups;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function GroupRow(props: { service: GroupService; group: ConversationGroup; onError: (text: string) => void }) {
  const [name, setName] = useState(props.group.name);
  useEffect(() => setName(props.group.name), [props.group.name]);
  const inputId = `group-name-${props.group.groupId}`;
  return html`
    <li class="group-row">
      <form onSubmit=${(event: Event) => {
        event.preventDefault();
        if (name.trim() !== '' && name !== props.group.name) {
          props.service.updateConversationGroup(props.group.groupId, name.trim()).catch((error: unknown) => props.onError(message(error)));
        }
      }}>
        <label class="visually-hidden" for=${inputId}>Name of group ${props.group.name}</label>
        <input id=${inputId} value=${name} maxLength=${64} onInput=${(event: Event) => setName((event.currentTarget as HTMLInputElement).value)} />
        <button type="submit" class="button" disabled=${name.trim() === '' || name === props.group.name}>Rename</button>
        <button type="button" class="button danger" aria-label=${`Delete group ${props.group.name}`}
          onClick=${() => props.service.deleteConversationGroup(props.group.groupId).catch((error: unknown) => props.onError(message(error)))}>Delete</button>
      </form>
    </li>`;
}

export function ManageGroupsDialog(props: { service: GroupService; groups: ConversationGroup[]; onClose: () => void; onError: (text: string) => void }) {
  const [name, setName] = useState('');
  const create = async (): Promise<void> => {
    if (name.trim() === '') return;
    try {
      await props.service.createConversationGroup(name.trim());
      setName('');
    } catch (error) {
      props.onError(message(error));
    }
  };
  return html`
    <${Dialog} title="Groups" onClose=${props.onClose} name="groups">
      <form class="inline-form" onSubmit=${(event: Event) => { event.preventDefault(); void create(); }}>
        <label class="visually-hidden" for="new-group-name">New group name</label>
        <input id="new-group-name" placeholder="New group, e.g. Work" value=${name} maxLength=${64}
          onInput=${(event: Event) => setName((event.currentTarget as HTMLInputElement).value)} />
        <button type="submit" class="button primary" disabled=${name.trim() === ''}>Create</button>
      </form>
      ${props.groups.length === 0
        ? html`<p class="hint">No groups yet. Groups are folders: filter and count unread by group.</p>`
        : html`<ul class="group-list">${props.groups.map((group) => html`<${GroupRow} key=${group.groupId} service=${props.service} group=${group} onError=${props.onError} />`)}</ul>`}
    <//>`;
}

export function ConversationGroupsDialog(props: { service: GroupService; groups: ConversationGroup[]; conversation: Conversation; onClose: () => void; onError: (text: string) => void }) {
  const id = props.conversation.conversationId;
  const toggle = async (groupId: string, add: boolean): Promise<void> => {
    try {
      const failed = add ? await props.service.addConversationsToGroup(groupId, [id]) : await props.service.removeConversationsFromGroup(groupId, [id]);
      const first = failed[0];
      if (first !== undefined) props.onError(first.error.message);
    } catch (error) {
      props.onError(message(error));
    }
  };
  return html`
    <${Dialog} title="Groups of this conversation" onClose=${props.onClose} name="conversation-groups">
      ${props.groups.length === 0
        ? html`<p class="hint">No groups yet: create one from “Groups” in the inbox.</p>`
        : html`<fieldset class="group-checks"><legend class="visually-hidden">Groups</legend>
            ${props.groups.map((group) => html`
              <label class="check" key=${group.groupId}>
                <input type="checkbox" checked=${props.conversation.groupIds.includes(group.groupId)}
                  onChange=${(event: Event) => void toggle(group.groupId, (event.currentTarget as HTMLInputElement).checked)} />
                ${group.name}
              </label>`)}
          </fieldset>`}
      <div class="dialog-actions"><button type="button" class="button primary" onClick=${props.onClose}>Done</button></div>
    <//>`;
}
