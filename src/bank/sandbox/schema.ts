/**
 * The sandbox bank's own tables, in its own database. It is a test double of a bank, not part of
 * the service, so it creates its schema itself at start instead of through the service's
 * migrations. Balances are integer fen; movements are append-only, as on a real bank's books.
 */
import { Pool } from 'pg';

const SCHEMA_LOCK_KEY = 4_100_053;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  account_no   text PRIMARY KEY,
  bank_code    text NOT NULL,
  name         text NOT NULL,
  kind         text NOT NULL,
  balance_fen  bigint NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ck_accounts_kind CHECK (kind IN ('customer', 'payer')),
  CONSTRAINT ck_accounts_balance_not_negative CHECK (balance_fen >= 0)
);

CREATE TABLE IF NOT EXISTS movements (
  id                       bigserial PRIMARY KEY,
  account_no               text NOT NULL REFERENCES accounts (account_no),
  direction                text NOT NULL,
  amount_fen               bigint NOT NULL,
  balance_after_fen        bigint NOT NULL,
  counterparty_bank_code   text,
  counterparty_account_no  text,
  counterparty_name        text,
  end_to_end_id            text,
  bank_txn_id              text NOT NULL,
  remittance_info          text,
  booked_at                timestamptz NOT NULL,
  value_date               date NOT NULL,
  CONSTRAINT ck_movements_direction CHECK (direction IN ('debit', 'credit')),
  CONSTRAINT ck_movements_amount_positive CHECK (amount_fen > 0),
  CONSTRAINT uq_movements_bank_txn_id UNIQUE (bank_txn_id)
);
CREATE INDEX IF NOT EXISTS ix_movements_account_booked ON movements (account_no, booked_at, id);

CREATE OR REPLACE FUNCTION movements_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'movements are append-only';
END $$;
DROP TRIGGER IF EXISTS tr_movements_append_only ON movements;
CREATE TRIGGER tr_movements_append_only BEFORE UPDATE OR DELETE ON movements
  FOR EACH ROW EXECUTE FUNCTION movements_append_only();

CREATE TABLE IF NOT EXISTS transfers (
  instruction_id   text PRIMARY KEY,
  from_account_no  text NOT NULL,
  to_bank_code     text NOT NULL,
  to_account_no    text NOT NULL,
  to_account_name  text NOT NULL,
  amount_fen       bigint NOT NULL,
  purpose          text NOT NULL,
  state            text NOT NULL,
  bank_txn_id      text,
  reason           text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  CONSTRAINT ck_transfers_state CHECK (state IN ('accepted', 'succeeded', 'failed')),
  CONSTRAINT ck_transfers_amount_positive CHECK (amount_fen > 0)
);

CREATE TABLE IF NOT EXISTS faults (
  scope                    text PRIMARY KEY,
  fail_next                integer NOT NULL DEFAULT 0,
  reject_next              integer NOT NULL DEFAULT 0,
  timeout_next             integer NOT NULL DEFAULT 0,
  timeout_mode             text NOT NULL DEFAULT 'after_work',
  delay_ms                 integer NOT NULL DEFAULT 0,
  duplicate_notifications  integer NOT NULL DEFAULT 0,
  updated_at               timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ck_faults_timeout_mode CHECK (timeout_mode IN ('after_work', 'before_work'))
);

CREATE TABLE IF NOT EXISTS notifications (
  id               bigserial PRIMARY KEY,
  event_id         text NOT NULL,
  type             text NOT NULL,
  account_no       text NOT NULL,
  body             text NOT NULL,
  copies           integer NOT NULL DEFAULT 1,
  delivered_count  integer NOT NULL DEFAULT 0,
  status           text NOT NULL DEFAULT 'pending',
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_status      integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  CONSTRAINT uq_notifications_event_id UNIQUE (event_id),
  CONSTRAINT ck_notifications_status CHECK (status IN ('pending', 'delivered', 'rejected'))
);
CREATE INDEX IF NOT EXISTS ix_notifications_due ON notifications (next_attempt_at)
  WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS notification_attempts (
  id               bigserial PRIMARY KEY,
  notification_id  bigint NOT NULL REFERENCES notifications (id),
  attempted_at     timestamptz NOT NULL DEFAULT now(),
  status_code      integer,
  error            text,
  duration_ms      integer NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_notification_attempts_notification
  ON notification_attempts (notification_id);
`;

/** Creates the tables when missing; an advisory lock keeps two starting sandboxes from racing. */
export async function createSandboxSchema(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
    await client.query(SCHEMA);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}
