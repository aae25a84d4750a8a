import { sql } from 'kysely';
import { booleanType } from '../../core/db/columns.js';
import type { Migration } from '../../core/db/migrator.js';

export const investigationsMigrations: Migration[] = [
  {
    name: 'investigations_001_boards',
    async up(db, dialect) {
      const bool = booleanType(dialect);
      const yes = sql`${sql.raw(dialect === 'postgres' ? 'true' : '1')}`;
      const no = sql`${sql.raw(dialect === 'postgres' ? 'false' : '0')}`;

      await db.schema
        .createTable('investigations')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('code', 'text', (col) => col.notNull().unique())
        .addColumn('title', 'text', (col) => col.notNull())
        .addColumn('description', 'text')
        .addColumn('is_active', bool, (col) => col.notNull().defaultTo(yes))
        .addColumn('created_by', 'text', (col) => col.notNull().references('users.id'))
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();

      await db.schema
        .createTable('inv_members')
        .addColumn('investigation_id', 'text', (col) => col.notNull().references('investigations.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (col) => col.notNull())
        .addColumn('joined_at', 'text', (col) => col.notNull())
        .addColumn('last_seen', 'text')
        .addPrimaryKeyConstraint('inv_members_pk', ['investigation_id', 'user_id'])
        .execute();
      await db.schema.createIndex('inv_members_user').on('inv_members').column('user_id').execute();

      await db.schema
        .createTable('inv_entities')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('investigation_id', 'text', (col) => col.notNull().references('investigations.id').onDelete('cascade'))
        .addColumn('type', 'text', (col) => col.notNull())
        .addColumn('title', 'text', (col) => col.notNull())
        .addColumn('description', 'text')
        .addColumn('role', 'text')
        .addColumn('location', 'text')
        .addColumn('address', 'text')
        .addColumn('event_date', 'text')
        .addColumn('event_end_date', 'text')
        .addColumn('is_timeslot', bool, (col) => col.notNull().defaultTo(no))
        .addColumn('evidence_type', 'text')
        .addColumn('photo_key', 'text')
        .addColumn('photo_type', 'text')
        .addColumn('created_by', 'text', (col) => col.notNull().references('users.id'))
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('inv_entities_board').on('inv_entities').columns(['investigation_id', 'created_at', 'id']).execute();

      await db.schema
        .createTable('inv_tags')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('investigation_id', 'text', (col) => col.notNull().references('investigations.id').onDelete('cascade'))
        .addColumn('name', 'text', (col) => col.notNull())
        .addColumn('color', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .execute();
      // Tag names are unique per investigation whatever their case.
      await sql`create unique index inv_tags_name on inv_tags (investigation_id, lower(name))`.execute(db);

      await db.schema
        .createTable('inv_entity_tags')
        .addColumn('entity_id', 'text', (col) => col.notNull().references('inv_entities.id').onDelete('cascade'))
        .addColumn('tag_id', 'text', (col) => col.notNull().references('inv_tags.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('inv_entity_tags_pk', ['entity_id', 'tag_id'])
        .execute();
      await db.schema.createIndex('inv_entity_tags_tag').on('inv_entity_tags').column('tag_id').execute();

      await db.schema
        .createTable('inv_links')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('investigation_id', 'text', (col) => col.notNull().references('investigations.id').onDelete('cascade'))
        .addColumn('from_entity_id', 'text', (col) => col.notNull().references('inv_entities.id').onDelete('cascade'))
        .addColumn('to_entity_id', 'text', (col) => col.notNull().references('inv_entities.id').onDelete('cascade'))
        .addColumn('title', 'text', (col) => col.notNull())
        .addColumn('description', 'text')
        .addColumn('created_by', 'text', (col) => col.notNull().references('users.id'))
        .addColumn('created_at', 'text', (col) => col.notNull())
        .execute();
      // One link per pair of entities, whichever way round: the index is on the ordered pair.
      await sql`create unique index inv_links_pair on inv_links ((case when from_entity_id < to_entity_id then from_entity_id || '|' || to_entity_id else to_entity_id || '|' || from_entity_id end))`.execute(db);
      await db.schema.createIndex('inv_links_board').on('inv_links').columns(['investigation_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('inv_links_from').on('inv_links').column('from_entity_id').execute();
      await db.schema.createIndex('inv_links_to').on('inv_links').column('to_entity_id').execute();

      await db.schema
        .createTable('inv_comments')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('investigation_id', 'text', (col) => col.notNull().references('investigations.id').onDelete('cascade'))
        .addColumn('entity_id', 'text', (col) => col.notNull().references('inv_entities.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (col) => col.notNull().references('users.id').onDelete('cascade'))
        .addColumn('content', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('inv_comments_entity').on('inv_comments').columns(['entity_id', 'created_at', 'id']).execute();

      await db.schema
        .createTable('inv_attachments')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('investigation_id', 'text', (col) => col.notNull().references('investigations.id').onDelete('cascade'))
        .addColumn('entity_id', 'text', (col) => col.notNull().references('inv_entities.id').onDelete('cascade'))
        .addColumn('storage_key', 'text', (col) => col.notNull())
        .addColumn('filename', 'text', (col) => col.notNull())
        .addColumn('file_type', 'text', (col) => col.notNull())
        .addColumn('size', 'bigint', (col) => col.notNull())
        .addColumn('uploaded_by', 'text', (col) => col.notNull().references('users.id'))
        .addColumn('uploaded_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('inv_attachments_entity').on('inv_attachments').columns(['entity_id', 'uploaded_at', 'id']).execute();
      await db.schema.createIndex('inv_attachments_board').on('inv_attachments').columns(['investigation_id', 'id']).execute();
    },
  },
  {
    name: 'investigations_002_board_version',
    async up(db) {
      // Bumped by every change that shows in the entity list, so a cached list is keyed by it.
      await db.schema.alterTable('investigations').addColumn('version', 'integer', (col) => col.notNull().defaultTo(0)).execute();
    },
  },
];
