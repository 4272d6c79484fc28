/**
 * Seeds the benchmark database in bulk SQL: institutions with their chart of accounts and one
 * course each, paid orders, and lessons awaiting confirmation whose fees are held. Every posting
 * goes through the ledger's triggers (account totals under row lock, each transaction checked at
 * the end of its statement), so the balances are the ones the use cases would have produced.
 *
 * Ids are derived from ordinals (md5 of `bench-lesson:<n>` as a uuid), so that a pgbench script
 * can name the n-th lesson and its parent without a lookup: lesson n belongs to order
 * floor(n / lessonsPerOrder), whose parent is `bench-parent-<order>`, at institution
 * order % institutions.
 */
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { ACCOUNT_TYPES, INSTITUTION_ACCOUNT_CODES } from '../../ledger/chart-of-accounts';
import { CONTRACT_VERSION } from '../../orders/entities/order.entity';

export const LESSON_PRICE_FEN = 4_000;

export interface SeedShape {
  institutions: number;
  lessonsPerOrder: number;
}

/** SQL that names the n-th lesson, the k-th order and its parent, in every query of the bench. */
export const lessonIdSql = (n: string) => `md5('bench-lesson:' || ${n})::uuid`;
export const orderIdSql = (k: string) => `md5('bench-order:' || ${k})::uuid`;
export const parentIdSql = (k: string) => `'bench-parent-' || ${k}`;
const institutionIdSql = (i: string) => `md5('bench-institution:' || ${i})::uuid`;
const courseIdSql = (i: string) => `md5('bench-course:' || ${i})::uuid`;

export const parentIdOf = (order: number) => `bench-parent-${order}`;

/** Lesson n's id as lessonIdSql makes it (md5 of the name, read as a uuid). */
export function lessonIdOf(ordinal: number): string {
  const hex = createHash('md5').update(`bench-lesson:${ordinal}`).digest('hex');
  const part = (from: number, to?: number) => hex.slice(from, to);
  return `${part(0, 8)}-${part(8, 12)}-${part(12, 16)}-${part(16, 20)}-${part(20)}`;
}

export async function seedInstitutions(client: Client, shape: SeedShape): Promise<void> {
  const codes = INSTITUTION_ACCOUNT_CODES;
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO institutions (id, name, license_no, district_id, created_by)
     SELECT ${institutionIdSql('i')}, 'Bench Academy ' || i, 'BENCH-LIC-' || i, 'bench-' || i, 'bench'
     FROM generate_series(0, $1::int - 1) AS i`,
    [shape.institutions],
  );
  await client.query(
    `INSERT INTO institution_bank_accounts (institution_id, kind, bank_code, account_no, account_name)
     SELECT ${institutionIdSql('i')}, kind, 'ICBC', prefix || lpad(i::text, 12, '0'), 'Bench Academy ' || i
     FROM generate_series(0, $1::int - 1) AS i,
          (VALUES ('custody', '6222'), ('settlement', '6228')) AS k(kind, prefix)`,
    [shape.institutions],
  );
  await client.query(
    `INSERT INTO ledger_accounts (code, type, institution_id)
     SELECT c.code, c.type, ${institutionIdSql('i')}
     FROM generate_series(0, $1::int - 1) AS i, unnest($2::text[], $3::text[]) AS c(code, type)`,
    [shape.institutions, codes, codes.map((code) => ACCOUNT_TYPES[code])],
  );
  await client.query(
    `INSERT INTO courses (id, institution_id, title, category, lesson_count, lesson_minutes,
                          class_size, price_fen, starts_on, ends_on, created_by)
     SELECT ${courseIdSql('i')}, ${institutionIdSql('i')}, 'Grade 5 Mathematics', 'subject', $2, 45,
            12, $3, current_date - 60, current_date + 60, 'bench'
     FROM generate_series(0, $1::int - 1) AS i`,
    [shape.institutions, shape.lessonsPerOrder, LESSON_PRICE_FEN],
  );
  await client.query('COMMIT');
}

/**
 * Orders [from, to) that fall to this worker (institution % workers = worker), each paid in full
 * and with all its lessons recorded, in one database transaction. Workers touch disjoint
 * institutions, so they never wait on each other's account rows.
 */
export async function seedOrders(
  client: Client,
  shape: SeedShape,
  range: { from: number; to: number; workers: number; worker: number },
): Promise<void> {
  const orders = `SELECT k FROM generate_series($1::int, $2::int - 1) AS k
                  WHERE k % $3::int % $4::int = $5::int`;
  const params = [range.from, range.to, shape.institutions, range.workers, range.worker];
  await client.query('BEGIN');
  await client.query(
    `WITH o AS MATERIALIZED (
       SELECT k, ${orderIdSql('k')} AS id, ${institutionIdSql('k % $3::int')} AS institution_id,
              ${courseIdSql('k % $3::int')} AS course_id
       FROM (${orders}) AS chosen),
     a AS (
       INSERT INTO ledger_accounts (code, type, institution_id, order_id)
       SELECT 'order_escrow', 'liability', o.institution_id, o.id FROM o
       RETURNING id, order_id)
     INSERT INTO orders (id, institution_id, district_id, course_id, parent_id, student_name,
                         lessons_paid, lesson_price_fen, amount_fen, payment_reference,
                         contract_version, status, escrow_account_id, paid_at, payer_bank_code,
                         payer_account_no, payer_account_name, first_lesson_on, last_lesson_on)
     SELECT o.id, o.institution_id, i.district_id, c.id, ${parentIdSql('o.k')}, 'Pupil ' || o.k,
            $6::int, c.price_fen, $6::int * c.price_fen, 'BENCH' || o.k, $7, 'active', a.id, now(),
            'CMB', '6214' || lpad(o.k::text, 12, '0'), 'Parent ' || o.k, c.starts_on, c.ends_on
     FROM o JOIN a ON a.order_id = o.id
     JOIN institutions i ON i.id = o.institution_id
     JOIN courses c ON c.id = o.course_id`,
    [...params, shape.lessonsPerOrder, CONTRACT_VERSION],
  );
  // The parent's payment: custody_cash → order_escrow, posted (as a matched bank notification).
  await client.query(
    `WITH t AS (
       INSERT INTO ledger_transactions (kind, reference, institution_id, metadata)
       SELECT 'payment_received', 'payment:BENCH-' || k, o.institution_id,
              jsonb_build_object('orderId', o.id, 'reference', o.payment_reference, 'outcome', 'matched')
       FROM (${orders}) AS chosen JOIN orders o ON o.id = ${orderIdSql('k')}
       RETURNING id, institution_id, (metadata->>'orderId')::uuid AS order_id)
     INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
     SELECT t.id, leg.account_id, 'posted', leg.amount
     FROM t JOIN orders o ON o.id = t.order_id
     JOIN ledger_accounts cash
       ON cash.institution_id = t.institution_id AND cash.code = 'custody_cash' AND cash.order_id IS NULL
     CROSS JOIN LATERAL (VALUES (cash.id, o.amount_fen), (o.escrow_account_id, -o.amount_fen))
       AS leg(account_id, amount)
     ORDER BY t.id, leg.account_id`,
    params,
  );
  // Each lesson recorded: its fee held order_escrow → settlement_payable (pending).
  await client.query(
    `WITH l AS MATERIALIZED (
       SELECT ${lessonIdSql('(k * $6::int + s)')} AS id, o.id AS order_id, o.institution_id,
              o.escrow_account_id, sp.id AS settlement_id, s + 1 AS sequence, o.lesson_price_fen AS fee
       FROM (${orders}) AS chosen
       JOIN orders o ON o.id = ${orderIdSql('k')}
       JOIN ledger_accounts sp ON sp.institution_id = o.institution_id
        AND sp.code = 'settlement_payable' AND sp.order_id IS NULL
       CROSS JOIN generate_series(0, $6::int - 1) AS s),
     t AS (
       INSERT INTO ledger_transactions (kind, reference, institution_id, metadata)
       SELECT 'lesson_hold', 'lesson:' || l.id || ':hold', l.institution_id,
              jsonb_build_object('lessonId', l.id, 'orderId', l.order_id, 'sequence', l.sequence)
       FROM l
       RETURNING id, (metadata->>'lessonId')::uuid AS lesson_id),
     p AS (
       INSERT INTO ledger_postings (transaction_id, account_id, phase, amount)
       SELECT t.id, leg.account_id, 'pending', leg.amount
       FROM t JOIN l ON l.id = t.lesson_id
       CROSS JOIN LATERAL (VALUES (l.escrow_account_id, l.fee), (l.settlement_id, -l.fee))
         AS leg(account_id, amount)
       ORDER BY t.id, leg.account_id)
     INSERT INTO lessons (id, order_id, institution_id, sequence, delivered_at, fee_fen, status,
                          hold_transaction_id, recorded_by)
     SELECT l.id, l.order_id, l.institution_id, l.sequence,
            date_trunc('minute', now()) - make_interval(mins => 10 * ($6::int - l.sequence + 1)),
            l.fee, 'awaiting_confirmation', t.id, 'bench'
     FROM l JOIN t ON t.lesson_id = l.id`,
    [...params, shape.lessonsPerOrder],
  );
  await client.query('COMMIT');
}

/**
 * Seeds orders [from, to) over `workers` connections, `chunk` orders per transaction, then
 * vacuums and analyzes the database.
 */
export async function seedOrderRange(
  databaseUrl: string,
  shape: SeedShape,
  from: number,
  to: number,
  options: { workers?: number; chunk?: number } = {},
): Promise<void> {
  const workers = Math.max(1, Math.min(options.workers ?? 2, shape.institutions));
  const chunk = options.chunk ?? 20;
  // Each hold updates its order's and its institution's account rows; old row versions pile up
  // faster than autovacuum looks, and every later update and lookup would wade through them.
  let seeding = true;
  const vacuum = (async () => {
    const client = new Client({ connectionString: databaseUrl, application_name: 'bench vacuum' });
    await client.connect();
    try {
      while (seeding) {
        await client.query('VACUUM ledger_accounts');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    } finally {
      await client.end();
    }
  })();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      const client = new Client({ connectionString: databaseUrl, application_name: 'bench seed' });
      await client.connect();
      try {
        for (let start = from; start < to; start += chunk) {
          await seedOrders(client, shape, {
            from: start,
            to: Math.min(to, start + chunk),
            workers,
            worker,
          });
        }
      } finally {
        await client.end();
      }
    }),
  ).finally(() => {
    seeding = false;
  });
  await vacuum;
  // Every caller measures next: the seed's dead row versions go, and the planner sees its rows.
  const analyze = new Client({ connectionString: databaseUrl });
  await analyze.connect();
  await analyze.query('VACUUM ANALYZE');
  await analyze.end();
}
