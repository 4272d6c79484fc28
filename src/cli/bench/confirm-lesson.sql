-- One lesson confirmation in raw SQL, for pgbench: the statements the service sends for
-- POST /v1/lessons/:id/confirm, one confirmation per transaction (lock the parent's lesson, record
-- the confirmation with its chosen release id, store the Idempotency-Key with the response, post
-- the hold last), so that the ratio service/pgbench measures what the service adds around the
-- database work. The service groups concurrent confirmations into one transaction with the same
-- statements over arrays (ConfirmLesson); this script is the one-at-a-time limit. Keep it in step
-- with them. The state check, which the service makes in JavaScript on the locked row, is a
-- condition of the lock here (no row: the client fails). pgbench reads `:name` as a variable
-- anywhere, even inside a string literal, hence the odd ':' || 'release'.
--
-- Variables (pgbench -D): clients, base, size, lpo (lessons per order), k=0. Each client takes
-- the next lesson of its own stride through a pseudorandom permutation of lessons
-- base .. base+size-1, so no two transactions confirm the same lesson; seed.ts derives lesson
-- n's id and its parent from n.
\set i :k * :clients + :client_id
\set k :k + 1
\set n :base + permute(:i, :size)
\set o :n / :lpo
BEGIN;
SELECT l.id, l.order_id, l.institution_id, l.sequence, l.delivered_at, l.note, l.fee_fen, l.status, l.hold_transaction_id, l.settle_transaction_id, l.confirmed_at, l.confirmed_by, l.confirmation_rule, l.rating, l.comment, l.dispute_reason, l.disputed_at, l.resolved_outcome, l.resolved_by, l.resolution_note, l.resolved_at, l.recorded_by, l.created_at, gen_random_uuid() AS settle_id FROM lessons l JOIN orders o ON o.id = l.order_id WHERE o.parent_id = 'bench-parent-' || :o::text AND l.id = md5('bench-lesson:' || :n::text)::uuid AND l.status = 'awaiting_confirmation' FOR UPDATE OF l \gset
UPDATE lessons SET status = 'confirmed', confirmed_at = now(), confirmed_by = 'bench-parent-' || :o::text, confirmation_rule = NULL, rating = 5, comment = NULL, settle_transaction_id = :settle_id::uuid WHERE id = :id::uuid;
INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, response) VALUES ('parent' || ':' || 'bench-parent-' || :o::text, 'pgbench-' || :n::text, md5(:n::text) || md5(:id::text), 200, json_build_object('id', :id::text, 'orderId', :order_id::text, 'institutionId', :institution_id::text, 'sequence', :sequence::int, 'status', 'confirmed', 'feeFen', :fee_fen::bigint, 'deliveredAt', :delivered_at::text, 'note', null, 'recordedBy', :recorded_by::text, 'recordedAt', :created_at::text, 'releasedAt', now(), 'confirmedAt', now(), 'confirmedBy', 'bench-parent-' || :o::text, 'confirmationRule', null, 'rating', 5, 'comment', null, 'disputeReason', null, 'disputedAt', null, 'resolvedOutcome', null, 'resolvedBy', null, 'resolutionNote', null, 'resolvedAt', null));
WITH tx AS (INSERT INTO ledger_transactions (id, kind, reference, institution_id, pending_id, resolution, metadata) SELECT :settle_id::uuid, 'lesson_release', 'lesson:' || :id::text || ':' || 'release', t.institution_id, t.id, 'post', jsonb_build_object('orderId', :order_id::text, 'lessonId', :id::text) FROM ledger_transactions t WHERE t.id = :hold_transaction_id::uuid AND EXISTS (SELECT 1 FROM ledger_postings p WHERE p.transaction_id = t.id AND p.phase = 'pending') RETURNING id, pending_id) INSERT INTO ledger_postings (transaction_id, account_id, phase, amount) SELECT tx.id, p.account_id, leg.phase, leg.amount FROM tx JOIN ledger_postings p ON p.transaction_id = tx.pending_id AND p.phase = 'pending' CROSS JOIN LATERAL (VALUES (1, 'resolved', -p.amount), (2, 'posted', p.amount)) AS leg(step, phase, amount) WHERE leg.step = 1 OR 'post' = 'post' ORDER BY p.account_id, tx.id, p.id, leg.step;
END;
