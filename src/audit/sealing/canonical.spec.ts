import {
  PostingRow,
  SealedTransaction,
  canonicalTransaction,
} from '../../../test/support/canonical-transaction';
import { BlockHeader, blockHash, transactionsHash } from './canonical';
import { digestHex } from './hashing';

const posting = (overrides: Partial<PostingRow> = {}): PostingRow => ({
  id: '10',
  transaction_id: 'b9c1',
  account_id: 'a1',
  phase: 'posted',
  amount: '40000',
  account_version: '1',
  posted_debits_after: '40000',
  posted_credits_after: '0',
  pending_debits_after: '0',
  pending_credits_after: '0',
  recorded_at: '2026-03-01T00:00:00.000001Z',
  ...overrides,
});

const transaction = (overrides: Partial<SealedTransaction['row']> = {}): SealedTransaction => ({
  row: {
    seq: '7',
    id: 'b9c1',
    created_xid: '1234',
    kind: 'payment_received',
    reference: 'payment:TXN1',
    institution_id: 'i1',
    pending_id: null,
    resolution: null,
    reversal_of: null,
    manual: false,
    created_at: '2026-03-01T00:00:00.000000Z',
    effective_at: '2026-03-01T00:00:00.000000Z',
    metadata: '{"a": 1}',
    ...overrides,
  },
  postings: [
    posting(),
    posting({ id: '11', account_id: 'a2', amount: '-40000', posted_debits_after: '0' }),
  ],
});

const header = (overrides: Partial<BlockHeader> = {}): BlockHeader => ({
  height: '1',
  format: 'v1',
  algorithm: 'sm3',
  firstKey: { xid: '1234', seq: '7' },
  lastKey: { xid: '1234', seq: '7' },
  transactionCount: 1,
  postingCount: 2,
  transactionsHash: 'a'.repeat(64),
  previousHash: '0'.repeat(64),
  sealedAt: '2026-03-01T00:00:10.000000Z',
  ...overrides,
});

describe('canonical form of sealed data', () => {
  it('is one line of JSON with the postings in order', () => {
    const line = canonicalTransaction(transaction());
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual([
      'tx',
      '7',
      'b9c1',
      '1234',
      'payment_received',
      'payment:TXN1',
      'i1',
      null,
      null,
      null,
      false,
      '2026-03-01T00:00:00.000000Z',
      '2026-03-01T00:00:00.000000Z',
      '{"a": 1}',
      [
        ['10', 'a1', 'posted', '40000', '1', '40000', '0', '0', '0', '2026-03-01T00:00:00.000001Z'],
        ['11', 'a2', 'posted', '-40000', '1', '0', '0', '0', '0', '2026-03-01T00:00:00.000001Z'],
      ],
    ]);
  });

  it('changes its hash when any amount, posting or field changes', () => {
    const hashOf = (...transactions: SealedTransaction[]) =>
      transactionsHash('sm3', transactions.map(canonicalTransaction));
    const base = hashOf(transaction());
    expect(hashOf(transaction())).toBe(base);
    const changed = transaction();
    changed.postings[0] = posting({ amount: '40001' });
    const dropped = transaction();
    dropped.postings.pop();
    const added = transaction();
    added.postings.push(posting({ id: '12' }));
    for (const variant of [
      changed,
      dropped,
      added,
      transaction({ reference: 'payment:TXN2' }),
      transaction({ manual: true }),
      transaction({ metadata: '{"a": 2}' }),
    ]) {
      expect(hashOf(variant)).not.toBe(base);
    }
    expect(transactionsHash('sha256', [canonicalTransaction(transaction())])).not.toBe(base);
    expect(hashOf(transaction(), transaction())).not.toBe(base);
  });

  it('hashes each line followed by a line feed', () => {
    expect(transactionsHash('sm3', ['a', 'b'])).toBe(digestHex('sm3', 'a\nb\n'));
    expect(transactionsHash('sm3', ['b', 'a'])).not.toBe(transactionsHash('sm3', ['a', 'b']));
    expect(transactionsHash('sm3', [])).toBe(digestHex('sm3', ''));
  });

  it('chains: a block hash covers the previous hash and every header field', () => {
    const base = blockHash(header());
    expect(blockHash(header())).toBe(base);
    for (const variant of [
      header({ previousHash: '1'.repeat(64) }),
      header({ transactionsHash: 'b'.repeat(64) }),
      header({ height: '2' }),
      header({ transactionCount: 2 }),
      header({ postingCount: 3 }),
      header({ lastKey: { xid: '1234', seq: '8' } }),
      header({ sealedAt: '2026-03-01T00:00:11.000000Z' }),
      header({ algorithm: 'sha256' }),
    ]) {
      expect(blockHash(variant)).not.toBe(base);
    }
  });
});
