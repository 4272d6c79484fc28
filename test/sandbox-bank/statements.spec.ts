/** The statement renderers on fixed data: exact amounts, escaping, the shapes parsers rely on. */
import {
  CSV_HEADER,
  StatementData,
  StatementMovement,
  renderCamt053,
  renderCsv,
  statementSequenceNumber,
} from '../../src/bank/sandbox/statements';

const movement = (overrides: Partial<StatementMovement>): StatementMovement => ({
  bankTxnId: 'SBX20261122AAAA',
  direction: 'credit',
  amountFen: 100,
  balanceAfterFen: 100,
  counterparty: { bankCode: 'CMB', accountNo: '6214830212345678', name: '王芳' },
  endToEndId: 'ELREF1',
  remittanceInfo: 'ELREF1',
  bookedAt: new Date('2026-11-21T16:30:05Z'),
  valueDate: '2026-11-22',
  ...overrides,
});

const data = (movements: StatementMovement[], overrides: Partial<StatementData> = {}) => ({
  account: { accountNo: '6222020200012345678', bankCode: 'ICBC', name: 'A & B <学校>' },
  from: '2026-11-22',
  to: '2026-11-22',
  openingBalanceFen: 1_000,
  closingBalanceFen: 1_000,
  movements,
  createdAt: new Date('2026-11-22T01:00:00Z'),
  ...overrides,
});

describe('statement renderers', () => {
  const movements = [
    movement({ amountFen: 123_405, balanceAfterFen: 124_405 }),
    movement({
      bankTxnId: 'SBX20261122BBBB',
      direction: 'debit',
      amountFen: 5,
      balanceAfterFen: 124_400,
      counterparty: { bankCode: 'BOC', accountNo: '6228000011112222', name: 'Li, "Lei"' },
      endToEndId: 'SET-1',
      remittanceInfo: '结算 settlement',
    }),
  ];
  const statement = data(movements, { closingBalanceFen: 124_400 });

  it('writes camt.053 amounts from fen exactly, in China time, escaped', () => {
    const xml = renderCamt053(statement);
    expect(xml).toContain(
      '<Amt Ccy="CNY">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-22</Dt>',
    );
    expect(xml).toContain('<Amt Ccy="CNY">1244.00</Amt>');
    expect(xml).toContain('<Amt Ccy="CNY">1234.05</Amt>');
    expect(xml).toContain('<Amt Ccy="CNY">0.05</Amt><CdtDbtInd>DBIT</CdtDbtInd>');
    expect(xml).toContain('<BookgDt><DtTm>2026-11-22T00:30:05+08:00</DtTm></BookgDt>');
    expect(xml).toContain('<Nm>A &amp; B &lt;学校&gt;</Nm>');
    expect(xml).toContain('<Cdtr><Pty><Nm>Li, &quot;Lei&quot;</Nm></Pty></Cdtr>');
    expect(xml).toContain(
      '<TtlNtries><NbOfNtries>2</NbOfNtries><Sum>1234.10</Sum><TtlNetNtry><Amt>1234.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></TtlNetNtry></TtlNtries>',
    );
    expect(xml).toContain('<ElctrncSeqNb>20779</ElctrncSeqNb>');
    expect(xml).toContain(
      '<Refs><AcctSvcrRef>SBX20261122BBBB</AcctSvcrRef><EndToEndId>SET-1</EndToEndId></Refs>',
    );
    // ISO 20022 Max35Text identifiers.
    for (const tag of ['MsgId', 'Id', 'AcctSvcrRef', 'EndToEndId']) {
      for (const [, value] of xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))) {
        expect(value.length).toBeLessThanOrEqual(35);
      }
    }
    // Every element opened is closed, in order.
    const stack: string[] = [];
    for (const [, closing, tag, selfClosing] of xml.matchAll(/<(\/?)([A-Za-z]+)[^>]*?(\/?)>/g)) {
      if (selfClosing) continue;
      if (closing) expect(stack.pop()).toBe(tag);
      else stack.push(tag);
    }
    expect(stack).toEqual([]);
  });

  it('writes an empty day with opening = closing and zero totals', () => {
    const xml = renderCamt053(data([]));
    expect(xml).not.toContain('<Ntry>');
    expect(xml).toContain('<TtlCdtNtries><NbOfNtries>0</NbOfNtries><Sum>0.00</Sum></TtlCdtNtries>');
    expect(xml.match(/<Amt Ccy="CNY">10.00<\/Amt>/g)).toHaveLength(2);
  });

  it('writes the CSV a Chinese bank exports, quoting what needs it', () => {
    const lines = renderCsv(statement).split('\r\n');
    expect(lines).toEqual([
      CSV_HEADER,
      '2026-11-22,00:30:05,,1234.05,1244.05,6214830212345678,王芳,ELREF1,SBX20261122AAAA,ELREF1',
      '2026-11-22,00:30:05,0.05,,1244.00,6228000011112222,"Li, ""Lei""",结算 settlement,SBX20261122BBBB,SET-1',
      '',
    ]);
  });

  it('numbers statements by the days since 1970 of their last day', () => {
    expect(statementSequenceNumber('1970-01-02')).toBe(1);
    expect(statementSequenceNumber('2026-11-23') - statementSequenceNumber('2026-11-22')).toBe(1);
  });
});
