/**
 * SQL for the ids of the ledger transactions that concern one order: every transaction that
 * touches its escrow account (payment, lesson holds and releases, refund holds and approvals),
 * and the payouts of its refunds, which move refund_payable to custody and name no order.
 * `escrow` and `order` are the SQL placeholders of the escrow account id and the order id.
 */
export const orderTransactionIdsSql = (escrow: string, order: string) => `
  SELECT q.transaction_id FROM ledger_postings q WHERE q.account_id = ${escrow}::uuid
  UNION
  SELECT bi.completion_transaction_id FROM refunds r
  JOIN bank_instructions bi ON bi.subject_id = r.id AND bi.purpose = 'refund'
  WHERE r.order_id = ${order}::uuid AND bi.completion_transaction_id IS NOT NULL`;
