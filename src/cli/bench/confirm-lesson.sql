-- One lesson confirmation in raw SQL, for pgbench: the statements the service sends for
-- POST /v1/lessons/:id/confirm, for one confirmation. First the parent's lesson is read, with the
-- version of its row (no transaction, no lock); then one statement, its own transaction, confirms
-- it if its row is still that version: it records the confirmation with its chosen release id,
-- stores the Idempotency-Key with the response and then posts the hold. So the ratio
-- service/pgbench measures what the service adds around the database work. The service confirms
-- concurrent confirmations together, with the same statements over arrays (ConfirmLesson,
-- IdempotencyService, LedgerService); this script is the one-at-a-time limit. Keep it in step with
-- them. The state check, which the service makes in JavaScript on the row read, is a condition of
-- the read here, and a confirmation the statement did not make fails the client (\gset wants a
-- row). pgbench reads `:name` as a variable anywhere, even inside a string literal, hence the odd
-- ':' || 'release'.
--
-- Variables (pgbench -D): clients, base, size, lpo (lessons per order), k=0. Each client takes
-- the next lesson of its own stride through a pseudorandom permutation of lessons
-- base .. base+size-1, so no two transactions confirm the same lesson; seed.ts derives lesson
-- n's id and its parent from n.
\set i :k * :clients + :client_id
\set k :k + 1
\set n :base + permute(:i, :size)
\set o :n / :lpo
SELECT l.id, l.order_id, l.institution_id, l.sequence, l.delivered_at, l.note, l.fee_fen, l.status, l.hold_transaction_id, l.settle_transaction_id, l.confirmed_at, l.confirmed_by, l.confirmation_rule, l.rating, l.comment, l.dispute_reason, l.disputed_at, l.resolved_outcome, l.resolved_by, l.resolution_note, l.resolved_at, l.recorded_by, l.created_at, l.xmin::text AS row_version, gen_random_uuid() AS settle_id FROM lessons l JOIN orders o ON o.id = l.order_id WHERE o.parent_id = 'bench-parent-' || :o::text AND l.id = md5('bench-lesson:' || :n::text)::uuid AND l.status = 'awaiting_confirmation' \gset
WITH target AS (SELECT l.id FROM lessons l WHERE l.id = :id::uuid AND l.status = 'awaiting_confirmation' AND l.xmin = :row_version::xid ORDER BY l.id FOR UPDATE OF l), confirmed AS (UPDATE lessons l SET status = 'confirmed', confirmed_at = now(), confirmed_by = 'bench-parent-' || :o::text, confirmation_rule = NULL, rating = 5, comment = NULL, settle_transaction_id = :settle_id::uuid FROM target WHERE l.id = target.id AND l.status = 'awaiting_confirmation' AND l.xmin = :row_version::xid RETURNING l.id, l.hold_transaction_id), keys AS (INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, response) SELECT 'parent' || ':' || 'bench-parent-' || :o::text, 'pgbench-' || :n::text, md5(:n::text) || md5(:id::text), 200, json_build_object('id', :id::text, 'orderId', :order_id::text, 'institutionId', :institution_id::text, 'sequence', :sequence::int, 'status', 'confirmed', 'feeFen', :fee_fen::bigint, 'deliveredAt', :delivered_at::text, 'note', null, 'recordedBy', :recorded_by::text, 'recordedAt', :created_at::text, 'releasedAt', now(), 'confirmedAt', now(), 'confirmedBy', 'bench-parent-' || :o::text, 'confirmationRule', null, 'rating', 5, 'comment', null, 'disputeReason', null, 'disputedAt', null, 'resolvedOutcome', null, 'resolvedBy', null, 'resolutionNote', null, 'resolvedAt', null) FROM confirmed RETURNING scope, key), tx AS (INSERT INTO ledger_transactions (id, kind, reference, institution_id, pending_id, resolution, metadata) SELECT :settle_id::uuid, 'lesson_release', 'lesson:' || :id::text || ':' || 'release', t.institution_id, t.id, 'post', jsonb_build_object('orderId', :order_id::text, 'lessonId', :id::text) FROM confirmed JOIN ledger_transactions t ON t.id = confirmed.hold_transaction_id WHERE EXISTS (SELECT 1 FROM ledger_postings p WHERE p.transaction_id = t.id AND p.phase = 'pending') AND (SELECT count(*) FROM keys) >= 0 RETURNING id, pending_id), postings AS (INSERT INTO ledger_postings (transaction_id, account_id, phase, amount) SELECT tx.id, p.account_id, leg.phase, leg.amount FROM tx JOIN ledger_postings p ON p.transaction_id = tx.pending_id AND p.phase = 'pending' CROSS JOIN LATERAL (VALUES (1, 'resolved', -p.amount), (2, 'posted', p.amount)) AS leg(step, phase, amount) WHERE leg.step = 1 OR 'post' = 'post' ORDER BY p.account_id, tx.id, p.id, leg.step) SELECT confirmed.id AS confirmed_id FROM confirmed \gset
