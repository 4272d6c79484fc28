-- One lesson confirmation in raw SQL, for pgbench: the statements the service sends for
-- POST /v1/lessons/:id/confirm (lock the parent's lesson, post its hold, record the
-- confirmation, store the Idempotency-Key with the response), so that the ratio service/pgbench
-- measures what the service adds around the database work. The state check, which the service
-- makes in JavaScript on the locked row, is a condition of the lock here (no row: the client fails).
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
SELECT "l"."id" AS "l_id", "l"."order_id" AS "l_order_id", "l"."institution_id" AS "l_institution_id", "l"."sequence" AS "l_sequence", "l"."delivered_at" AS "l_delivered_at", "l"."note" AS "l_note", "l"."fee_fen" AS "l_fee_fen", "l"."status" AS "l_status", "l"."hold_transaction_id" AS "l_hold_transaction_id", "l"."settle_transaction_id" AS "l_settle_transaction_id", "l"."confirmed_at" AS "l_confirmed_at", "l"."confirmed_by" AS "l_confirmed_by", "l"."confirmation_rule" AS "l_confirmation_rule", "l"."rating" AS "l_rating", "l"."comment" AS "l_comment", "l"."dispute_reason" AS "l_dispute_reason", "l"."disputed_at" AS "l_disputed_at", "l"."resolved_outcome" AS "l_resolved_outcome", "l"."resolved_by" AS "l_resolved_by", "l"."resolution_note" AS "l_resolution_note", "l"."resolved_at" AS "l_resolved_at", "l"."recorded_by" AS "l_recorded_by", "l"."created_at" AS "l_created_at" FROM "lessons" "l" INNER JOIN "orders" "o" ON "o"."id" = "l"."order_id" WHERE "o"."parent_id" = 'bench-parent-' || :o::text AND "l"."id" = md5('bench-lesson:' || :n::text)::uuid AND "l"."status" = 'awaiting_confirmation' FOR UPDATE OF l \gset
WITH tx AS (INSERT INTO ledger_transactions (kind, reference, institution_id, pending_id, resolution, metadata) SELECT 'lesson_release', 'lesson:' || :l_id::text || ':' || 'release', t.institution_id, t.id, 'post', jsonb_build_object('orderId', :l_order_id::text, 'lessonId', :l_id::text) FROM ledger_transactions t WHERE t.id = :l_hold_transaction_id::uuid RETURNING id, pending_id) INSERT INTO ledger_postings (transaction_id, account_id, phase, amount) SELECT tx.id, p.account_id, leg.phase, leg.amount FROM tx JOIN ledger_postings p ON p.transaction_id = tx.pending_id AND p.phase = 'pending' CROSS JOIN LATERAL (VALUES (1, 'resolved', -p.amount), (2, 'posted', p.amount)) AS leg(step, phase, amount) ORDER BY p.account_id, p.id, leg.step RETURNING transaction_id \aset
UPDATE "lessons" SET "status" = 'confirmed', "confirmed_at" = now(), "confirmed_by" = 'bench-parent-' || :o::text, "confirmation_rule" = NULL, "rating" = 5, "comment" = NULL, "settle_transaction_id" = :transaction_id::uuid WHERE "id" = :l_id::uuid;
INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, response) VALUES ('parent' || ':' || 'bench-parent-' || :o::text, 'pgbench-' || :n::text, md5(:n::text) || md5(:l_id::text), 200, json_build_object('id', :l_id::text, 'orderId', :l_order_id::text, 'institutionId', :l_institution_id::text, 'sequence', :l_sequence::int, 'status', 'confirmed', 'feeFen', :l_fee_fen::bigint, 'deliveredAt', :l_delivered_at::text, 'note', null, 'recordedBy', :l_recorded_by::text, 'recordedAt', :l_created_at::text, 'releasedAt', now(), 'confirmedAt', now(), 'confirmedBy', 'bench-parent-' || :o::text, 'confirmationRule', null, 'rating', 5, 'comment', null, 'disputeReason', null, 'disputedAt', null, 'resolvedOutcome', null, 'resolvedBy', null, 'resolutionNote', null, 'resolvedAt', null));
END;
