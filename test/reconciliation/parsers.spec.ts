/**
 * The statement parsers and checks against fixtures written from the ISO 20022 message
 * definitions (camt.053.001.08 and .001.02) and Chinese bank CSV exports (UTF-8 and GBK), with the
 * hand-checked figures of fixtures/expected.ts; then every way a file can be refused.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckedStatement, checkStatement } from '../../src/reconciliation/check-statement';
import { BankCsvParser } from '../../src/reconciliation/parsers/bank-csv.parser';
import { Camt053Parser } from '../../src/reconciliation/parsers/camt053.parser';
import { StatementProblem } from '../../src/reconciliation/parsers/statement';
import { ACCOUNT_NO, ONE_DAY_V02, TWO_DAYS } from './fixtures/expected';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name));
const camt = new Camt053Parser();
const csv = new BankCsvParser();

async function readCamt(xml: string | Buffer): Promise<CheckedStatement> {
  return checkStatement(await camt.parse(Buffer.from(xml), {}));
}

async function readCsv(body: string | Buffer, options: { charset?: string } = {}) {
  return checkStatement(await csv.parse(Buffer.from(body), { accountNo: ACCOUNT_NO, ...options }));
}

/** The refusal of a statement: its code and the places it names. */
async function refusal(read: () => Promise<unknown>) {
  try {
    await read();
  } catch (error) {
    if (error instanceof StatementProblem) {
      return { code: error.code, errors: error.errors, text: error.message };
    }
    throw error;
  }
  throw new Error('the statement was accepted');
}

function expectReading(checked: CheckedStatement, expected: typeof TWO_DAYS) {
  expect({
    accountNo: checked.parsed.accountNo,
    fromDate: checked.fromDate,
    toDate: checked.toDate,
    openingFen: checked.openingFen,
    closingFen: checked.closingFen,
    credits: checked.credits,
    debits: checked.debits,
    dayClosings: checked.dayClosings,
  }).toEqual({
    accountNo: expected.accountNo,
    fromDate: expected.fromDate,
    toDate: expected.toDate,
    openingFen: expected.openingFen,
    closingFen: expected.closingFen,
    credits: expected.credits,
    debits: expected.debits,
    dayClosings: expected.dayClosings,
  });
}

const v08 = fixture('camt053.001.08.xml').toString('utf8');
const v02 = fixture('camt053.001.02.xml').toString('utf8');

describe('camt.053.001.08', () => {
  it('reads the statement, its balances and every booked line as hand-checked', async () => {
    const checked = await readCamt(v08);
    expectReading(checked, TWO_DAYS);
    expect(checked.parsed).toMatchObject({
      format: 'camt053',
      formatVersion: 'camt.053.001.08',
      messageId: 'ICBC-STMT-20261122-0001',
      statementRef: '20261120-20261121-0200012345678',
      sequenceNo: 101,
      currency: 'CNY',
    });
    expect(checked.parsed.lines.map(({ lineNo: _n, location: _l, ...line }) => line)).toEqual(
      TWO_DAYS.lines,
    );
  });

  it('names each line by its entry, and a batch line by its transaction', async () => {
    const { parsed } = await readCamt(v08);
    expect(parsed.lines.map((l) => l.location)).toEqual([
      'Ntry[1]',
      'Ntry[2]',
      'Ntry[3]/NtryDtls/TxDtls[1]',
      'Ntry[3]/NtryDtls/TxDtls[2]',
      'Ntry[4]',
      'Ntry[6]',
    ]);
  });

  it('ignores elements of other namespaces (supplementary data)', async () => {
    const xml = v08.replace(
      '<NtryRef>1</NtryRef>',
      '<NtryRef>1</NtryRef><x:Extra xmlns:x="urn:example:bank"><x:Amt>1.00</x:Amt></x:Extra>',
    );
    expectReading(await readCamt(xml), TWO_DAYS);
  });
});

describe('camt.053.001.02', () => {
  it('reads the older shapes (Dbtr/Nm, AmtDtls, Sts as code, TtlNetNtryAmt) as hand-checked', async () => {
    const checked = await readCamt(v02);
    expectReading(checked, ONE_DAY_V02);
    expect(checked.parsed).toMatchObject({
      formatVersion: 'camt.053.001.02',
      messageId: 'BOC20261123STMT7',
      sequenceNo: 7,
    });
    expect(checked.parsed.lines.map(({ lineNo: _n, location: _l, ...line }) => line)).toEqual(
      ONE_DAY_V02.lines,
    );
  });
});

describe('bank CSV', () => {
  it('reads the UTF-8 export (preamble, units in headers, grouped amounts, ="…" cells)', async () => {
    const checked = await readCsv(fixture('statement-utf8.csv'));
    expectReading(checked, TWO_DAYS);
    expect(checked.parsed.formatVersion).toBe('csv-utf8');
    expect(checked.parsed.lines.map((l) => l.location)).toEqual([
      'line 5',
      'line 6',
      'line 7',
      'line 8',
      'line 9',
      'line 10',
    ]);
    expect(checked.parsed.lines.map((l) => [l.bankRef, l.reversal, l.endToEndId])).toEqual(
      TWO_DAYS.lines.map((l) => [l.bankRef, l.reversal, l.endToEndId]),
    );
    expect(checked.parsed.lines[3].counterpartyName).toBe('韩梅梅 & 韩磊');
    expect(checked.parsed.lines[4].remittanceInfo).toBe('冲正 退汇 "account closed"');
  });

  it('reads the GBK export, newest row first, detected without a charset', async () => {
    const checked = await readCsv(fixture('statement-gbk.csv'));
    expectReading(checked, TWO_DAYS);
    expect(checked.parsed.formatVersion).toBe('csv-gbk');
    // Lines keep the file's order: the oldest is last.
    expect(checked.parsed.lines[5]).toMatchObject({
      bankRef: 'ICBC20261120000001',
      counterpartyName: '王芳',
      bookedAt: '2026-11-20T01:15:00.000Z',
    });
  });

  it('reads GBK when the charset says so, and refuses GBK bytes declared as UTF-8', async () => {
    expectReading(await readCsv(fixture('statement-gbk.csv'), { charset: 'GBK' }), TWO_DAYS);
    const wrong = await refusal(() => readCsv(fixture('statement-gbk.csv'), { charset: 'utf-8' }));
    expect(wrong.code).toBe('STATEMENT_MALFORMED');
    expect(wrong.text).toMatch(/not valid UTF-8/);
  });

  it('fingerprints the same statement the same in camt.053 and both CSVs', async () => {
    const fingerprints = [
      (await readCamt(v08)).fingerprint,
      (await readCsv(fixture('statement-utf8.csv'))).fingerprint,
      (await readCsv(fixture('statement-gbk.csv'))).fingerprint,
    ];
    expect(new Set(fingerprints).size).toBe(1);
  });

  it('reads quoted cells across lines and keeps counting lines after them', async () => {
    const body = fixture('statement-utf8.csv')
      .toString('utf8')
      .replace('手续费 bank fee', '"手续费\r\nbank fee"');
    const checked = await readCsv(body);
    expect(checked.parsed.lines[5]).toMatchObject({
      remittanceInfo: '手续费\r\nbank fee',
      location: 'line 10',
    });
    const broken = `${body}2026-13-01,00:00:00,,1.00,"10,551.49",,,,X1,\r\n`;
    expect((await refusal(() => readCsv(broken))).errors[0].field).toBe('line 12, 交易日期');
  });

  it('needs the account named by the caller', async () => {
    const problem = await refusal(() => csv.parse(fixture('statement-utf8.csv'), {}));
    expect(problem.errors).toEqual([expect.objectContaining({ field: 'accountNo' })]);
  });

  it('takes the period from the caller for a CSV without rows, and the balance from before', async () => {
    const header =
      '交易日期,交易时间,借方发生额,贷方发生额,余额,对方账号,对方户名,摘要,流水号,客户参考号\r\n';
    const parsed = await csv.parse(Buffer.from(header), { accountNo: ACCOUNT_NO });
    const checked = checkStatement(parsed, {
      fromDate: '2026-11-22',
      toDate: '2026-11-22',
      previousClosingFen: 1_055_049,
    });
    expect(checked).toMatchObject({ openingFen: 1_055_049, closingFen: 1_055_049 });
    const noBalance = await refusal(() =>
      Promise.resolve(checkStatement(parsed, { fromDate: '2026-11-22', toDate: '2026-11-22' })),
    );
    expect(noBalance.code).toBe('STATEMENT_INVALID');
    const noPeriod = await refusal(() => Promise.resolve(checkStatement(parsed)));
    expect(noPeriod.errors[0].field).toBe('from');
  });
});

describe('refused statements (422, nothing imported)', () => {
  const utf8Csv = fixture('statement-utf8.csv').toString('utf8');

  it.each([
    [
      'more than 2 decimals',
      v08.replace('<Amt Ccy="CNY">400.00</Amt>', '<Amt Ccy="CNY">400.005</Amt>'),
      'STATEMENT_INVALID',
      /^Ntry\[1\] \(line 55\)\/Amt$/,
      /more than 2 decimal places/,
    ],
    [
      'a negative amount',
      v08.replace('<Amt Ccy="CNY">0.01</Amt>', '<Amt Ccy="CNY">-0.01</Amt>'),
      'STATEMENT_INVALID',
      /Ntry\[6\].*\/Amt/,
      /not an amount/,
    ],
    [
      'another currency',
      v08.replace('<Amt Ccy="CNY">400.00</Amt>', '<Amt Ccy="USD">400.00</Amt>'),
      'STATEMENT_INVALID',
      /Ntry\[1\]/,
      /currency USD/,
    ],
    [
      'a broken balance',
      v08.replace('<Amt Ccy="CNY">10550.49</Amt>', '<Amt Ccy="CNY">10550.50</Amt>'),
      'STATEMENT_UNBALANCED',
      /^Stmt\/Bal\[CLBD\]\/Amt$/,
      /1055049 fen, but the closing balance is 1055050/,
    ],
    [
      'TxsSummry disagreeing',
      v08.replace('<TtlCdtNtries><NbOfNtries>3', '<TtlCdtNtries><NbOfNtries>4'),
      'STATEMENT_UNBALANCED',
      /TxsSummry\/TtlCdtNtries\/NbOfNtries/,
      /states 4, the entries give 3/,
    ],
    [
      'a batch not adding up',
      v08.replace('<Amt Ccy="CNY">50.50</Amt>', '<Amt Ccy="CNY">50.49</Amt>'),
      'STATEMENT_UNBALANCED',
      /Ntry\[3\].*NtryDtls/,
      /add up to 15049 fen, the entry to 15050/,
    ],
    [
      'a line outside the period',
      v08.replace('2026-11-21T11:00:00+08:00', '2026-11-22T11:00:00+08:00'),
      'STATEMENT_INVALID',
      /Ntry\[4\]/,
      /outside the statement's period/,
    ],
    [
      'a reference twice',
      v08.replace(
        '<AcctSvcrRef>ICBC20261121000004</AcctSvcrRef>\n        <BkTxCd>',
        '<AcctSvcrRef>ICBC20261120000001</AcctSvcrRef>\n        <BkTxCd>',
      ),
      'STATEMENT_INVALID',
      /Ntry\[4\]/,
      /also appears at Ntry\[1\]/,
    ],
    [
      'no closing balance',
      v08.replace('<Cd>CLBD</Cd>', '<Cd>XXXX</Cd>'),
      'STATEMENT_MALFORMED',
      /Stmt\/Bal/,
      /no closing balance/,
    ],
    [
      'no booking date',
      v08.replace('<BookgDt><DtTm>2026-11-20T09:15:00+08:00</DtTm></BookgDt>', ''),
      'STATEMENT_MALFORMED',
      /Ntry\[1\].*BookgDt/,
      /missing/,
    ],
    [
      'an impossible date',
      v08.replace(
        '<Dt>2026-11-21</Dt></ValDt>\n        <BkTxCd><Domn><Cd>ACMT',
        '<Dt>2026-02-30</Dt></ValDt>\n        <BkTxCd><Domn><Cd>ACMT',
      ),
      'STATEMENT_INVALID',
      /Ntry\[6\].*ValDt/,
      /not a date/,
    ],
    [
      'two statements in a file',
      v08.replace('</Stmt>', '</Stmt><Stmt><Id>x</Id></Stmt>'),
      'STATEMENT_INVALID',
      /Stmt/,
      /one statement/,
    ],
    [
      'an unsupported version',
      v08.replace('xsd:camt.053.001.08"', 'xsd:camt.053.001.04"'),
      'STATEMENT_MALFORMED',
      /Document/,
      /not a camt.053 Document/,
    ],
    [
      'another message',
      v08.replace('xsd:camt.053.001.08"', 'xsd:camt.054.001.08"'),
      'STATEMENT_MALFORMED',
      /Document/,
      /not a camt.053 Document/,
    ],
    [
      'malformed XML',
      v08.replace('</Acct>', '</Acct'),
      'STATEMENT_MALFORMED',
      /xml/,
      /not well-formed/,
    ],
    [
      'an unclosed document',
      v08.slice(0, v08.indexOf('</Stmt>')),
      'STATEMENT_MALFORMED',
      /xml/,
      /not well-formed/,
    ],
    [
      'a non-UTF-8 declaration',
      v08.replace('encoding="UTF-8"', 'encoding="GB2312"'),
      'STATEMENT_MALFORMED',
      /xml/,
      /must be UTF-8/,
    ],
  ])('%s', async (_what, xml, code, field, message) => {
    const problem = await refusal(() => readCamt(xml));
    expect(problem.code).toBe(code);
    expect(problem.errors[0].field).toMatch(field);
    expect(problem.errors[0].message).toMatch(message);
  });

  it('an XML bomb (billion laughs): the DOCTYPE is refused before any entity is expanded', async () => {
    const entities = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
    ).join('');
    const bomb =
      `<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY lol0 "lol">${entities}]>` +
      '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&lol9;</Document>';
    const started = process.hrtime.bigint();
    const problem = await refusal(() => readCamt(bomb));
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
    expect(problem.code).toBe('STATEMENT_MALFORMED');
    expect(problem.errors[0].field).toMatch(/^DOCTYPE/);
  });

  it('an external entity (XXE) is never fetched: the DOCTYPE is refused', async () => {
    const xxe = v08
      .replace(
        '<Document',
        '<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Document',
      )
      .replace('<MsgId>ICBC-STMT-20261122-0001</MsgId>', '<MsgId>&xxe;</MsgId>');
    const problem = await refusal(() => readCamt(xxe));
    expect(problem.errors[0]).toMatchObject({ field: expect.stringMatching(/^DOCTYPE/) });
    expect(problem.text).not.toMatch(/root:/);
  });

  it('elements nested without end, and text without end, are cut short', async () => {
    const deep = v08.replace(
      '<NtryRef>1</NtryRef>',
      `${'<NtryRef>'.repeat(40)}${'</NtryRef>'.repeat(40)}`,
    );
    expect((await refusal(() => readCamt(deep))).errors[0].message).toMatch(/nested deeper/);
    const long = v08.replace('<Ustrd>学费</Ustrd>', `<Ustrd>${'x'.repeat(5_000)}</Ustrd>`);
    expect((await refusal(() => readCamt(long))).errors[0].message).toMatch(/text longer/);
  });

  it.each([
    [
      'a missing column',
      utf8Csv.replace('流水号,', '编号,'),
      'STATEMENT_MALFORMED',
      /header/,
      /missing column 流水号/,
    ],
    [
      'no header at all',
      '2026-11-20,09:15:00,,400.00\r\n'.repeat(25),
      'STATEMENT_MALFORMED',
      /header/,
      /no header row/,
    ],
    [
      'a running balance that does not follow',
      utf8Csv.replace('"10,380.00"', '"10,380.01"'),
      'STATEMENT_UNBALANCED',
      /line 7, 余额/,
      /does not follow/,
    ],
    [
      'both debit and credit',
      utf8Csv.replace(',,400.00,', ',1.00,400.00,'),
      'STATEMENT_INVALID',
      /line 5/,
      /both/,
    ],
    [
      'more than 2 decimals',
      utf8Csv.replace(',,100.00,', ',,100.001,'),
      'STATEMENT_INVALID',
      /line 7, 贷方发生额/,
      /more than 2 decimal places/,
    ],
    [
      'a bad date',
      utf8Csv.replace('2026-11-21,16:00:00', '2026-13-21,16:00:00'),
      'STATEMENT_INVALID',
      /line 10, 交易日期/,
      /not a date/,
    ],
    [
      'a short row',
      utf8Csv.replace(',FEE20261121,', ',FEE20261121'),
      'STATEMENT_MALFORMED',
      /line 10/,
      /9 cells, the header has 10/,
    ],
    [
      'an unclosed quote',
      `${utf8Csv}2026-11-21,17:00:00,,1.00,"10,551.49\r\n`,
      'STATEMENT_MALFORMED',
      /line 11/,
      /not closed/,
    ],
    [
      'a reference twice',
      utf8Csv.replace(',FEE20261121,', ',ICBC20261121000004,'),
      'STATEMENT_INVALID',
      /line 10/,
      /also appears at line 9/,
    ],
  ])('CSV: %s', async (_what, body, code, field, message) => {
    const problem = await refusal(() => readCsv(body));
    expect(problem.code).toBe(code);
    expect(problem.errors[0].field).toMatch(field);
    expect(problem.errors[0].message).toMatch(message);
  });

  it('CSV: an unsupported charset', async () => {
    const problem = await refusal(() => readCsv(utf8Csv, { charset: 'latin1' }));
    expect(problem.errors[0].field).toBe('charset');
  });
});
