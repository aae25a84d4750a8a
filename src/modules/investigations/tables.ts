import type { ColumnType } from 'kysely';
import type { BoolColumn } from '../../core/db/columns.js';

export type MemberRole = 'owner' | 'admin' | 'member' | 'viewer';
export type EntityType = 'person' | 'location' | 'evidence' | 'event';

export interface InvestigationsTable {
  id: string;
  /** The join code: 8 characters A-Z0-9, unique, replaced when someone is removed. */
  code: string;
  title: string;
  description: string | null;
  is_active: BoolColumn;
  created_by: string;
  created_at: string;
  updated_at: string;
  /** Bumped by every change that shows in the entity list (the key of its cache). */
  version: ColumnType<number, number | undefined, number>;
}

export interface InvMembersTable {
  investigation_id: string;
  user_id: string;
  role: MemberRole;
  joined_at: string;
  last_seen: string | null;
}

export interface InvEntitiesTable {
  id: string;
  investigation_id: string;
  type: EntityType;
  title: string;
  description: string | null;
  role: string | null;
  location: string | null;
  address: string | null;
  event_date: string | null;
  event_end_date: string | null;
  is_timeslot: BoolColumn;
  evidence_type: string | null;
  /** Storage key of the photo; never sent to clients. */
  photo_key: string | null;
  photo_type: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface InvTagsTable {
  id: string;
  investigation_id: string;
  name: string;
  color: string;
  created_at: string;
}

export interface InvEntityTagsTable {
  entity_id: string;
  tag_id: string;
}

export interface InvLinksTable {
  id: string;
  investigation_id: string;
  from_entity_id: string;
  to_entity_id: string;
  title: string;
  description: string | null;
  created_by: string;
  created_at: string;
}

export interface InvCommentsTable {
  id: string;
  investigation_id: string;
  entity_id: string;
  user_id: string;
  content: string;
  created_at: string;
  updated_at: string;
}

export interface InvAttachmentsTable {
  id: string;
  investigation_id: string;
  entity_id: string;
  storage_key: string;
  filename: string;
  file_type: string;
  size: number;
  uploaded_by: string;
  uploaded_at: string;
}

export type InvestigationsTables = {
  investigations: InvestigationsTable;
  inv_members: InvMembersTable;
  inv_entities: InvEntitiesTable;
  inv_tags: InvTagsTable;
  inv_entity_tags: InvEntityTagsTable;
  inv_links: InvLinksTable;
  inv_comments: InvCommentsTable;
  inv_attachments: InvAttachmentsTable;
};
