/**
 * `npm run demo`: plays the whole story against a running service (`npm start`, which also runs
 * the sandbox bank) and prints the money at each step. Uses only the public API, the sandbox
 * bank's customer routes and development tokens signed with the configured JWT_SECRET.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { signToken, TokenClaims } from '../auth/token.service';
import { formatYuan } from '../common/money/fen';
import { loadConfig } from '../config/config';

if (existsSync('.env')) process.loadEnvFile('.env');
const { config } = loadConfig();
const api = process.env.DEMO_API_URL ?? `http://127.0.0.1:${config.port}`;
const bank = config.bank.apiUrl;
const token = (claims: TokenClaims) => `Bearer ${signToken(claims, config.jwt.secret)}`;
const digits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('');

async function call<T = Record<string, unknown>>(
  method: string,
  url: string,
  auth?: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(url, {
    method,
    headers: {
      'Content-Type': 'application/json',
      ...(auth ? { Authorization: auth } : {}),
      ...(method === 'POST' ? { 'Idempotency-Key': randomUUID() } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 120; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const yuan = (fen: unknown) => `${formatYuan(Number(fen))} yuan`;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function bankBalance(accountNo: string): Promise<string> {
  const account = await call<{ balanceFen: number }>(
    'GET',
    `${bank}/sandbox/accounts/${accountNo}`,
  );
  return yuan(account.balanceFen);
}

async function main(): Promise<void> {
  const district = 'demo-510112';
  const operator = token({ sub: 'demo-operator', role: 'operator', districtId: district });
  const parentId = `demo-parent-${digits(4)}`;
  const parent = token({ sub: parentId, role: 'parent' });
  const custody = `6222${digits(12)}`;
  const settlement = `6228${digits(12)}`;
  const payer = { bankCode: 'CMB', accountNo: `6214${digits(12)}`, accountName: '王芳' };

  say(`Service ${api}, sandbox bank ${bank}\n`);
  const institution = await call<{ id: string; name: string }>(
    'POST',
    `${api}/v1/institutions`,
    operator,
    {
      name: `启明培训学校 ${digits(3)}`,
      licenseNo: `DEMO-${digits(10)}`,
      districtId: district,
      custodyAccount: { bankCode: 'ICBC', accountNo: custody, accountName: '启明 监管账户' },
      settlementAccount: { bankCode: 'BOC', accountNo: settlement, accountName: '启明 结算账户' },
    },
  );
  say(`1. The bureau registers ${institution.name} (custody ${custody}).`);
  const staff = token({
    sub: 'demo-staff',
    role: 'institution',
    institutionId: institution.id,
    districtId: district,
  });
  const today = new Date();
  const day = (offset: number) =>
    new Date(today.getTime() + offset * 86_400_000).toISOString().slice(0, 10);
  const course = await call<{ id: string }>('POST', `${api}/v1/courses`, staff, {
    title: '五年级数学',
    category: 'subject',
    lessonCount: 20,
    lessonMinutes: 45,
    classSize: 12,
    priceFen: 4_000,
    startsOn: day(-10),
    endsOn: day(60),
  });
  say('2. It offers a maths course at 40.00 yuan a lesson (cap for 12 pupils: 46.20).');

  const order = await call<{ id: string; amountFen: number; paymentReference: string }>(
    'POST',
    `${api}/v1/orders`,
    parent,
    { courseId: course.id, lessons: 10, bonusLessons: 1, studentName: '王小明' },
  );
  say(
    `3. A parent buys 10 lessons (+1 bonus): ${yuan(order.amountFen)}, reference ${order.paymentReference}.`,
  );
  await call('POST', `${bank}/sandbox/payments`, undefined, {
    payerAccount: payer,
    accountNo: custody,
    amountFen: order.amountFen,
    reference: order.paymentReference,
  });
  await until('the payment', async () => {
    const view = await call<{ status: string }>('GET', `${api}/v1/orders/${order.id}`, parent);
    return view.status === 'active' ? view : undefined;
  });
  say(`4. The parent pays at the bank; custody account now holds ${await bankBalance(custody)}.`);

  const lessons: string[] = [];
  for (const daysAgo of [3, 2, 1]) {
    const lesson = await call<{ id: string }>('POST', `${api}/v1/lessons`, staff, {
      orderId: order.id,
      deliveredAt: new Date(today.getTime() - daysAgo * 86_400_000).toISOString(),
    });
    lessons.push(lesson.id);
  }
  await call('POST', `${api}/v1/lessons/${lessons[0]}/confirm`, parent, {
    rating: 5,
    comment: '很好',
  });
  await call('POST', `${api}/v1/lessons/${lessons[1]}/confirm`, parent, {});
  const afterLessons = await call('GET', `${api}/v1/orders/${order.id}`, parent);
  say(
    `5. Three lessons given, two confirmed: released ${yuan(afterLessons.releasedFen)}, held ${yuan(afterLessons.heldFen)}, refundable ${yuan(afterLessons.refundableFen)}.`,
  );

  const run = await call<{ batches: { id: string; institutionId: string; amountFen: number }[] }>(
    'POST',
    `${api}/v1/settlements/run`,
    operator,
  );
  const batch = run.batches.find((b) => b.institutionId === institution.id)!;
  await until('the settlement', async () => {
    const view = await call<{ status: string }>('GET', `${api}/v1/settlements/${batch.id}`, staff);
    return view.status === 'paid' ? view : undefined;
  });
  say(
    `6. Settlement pays ${yuan(batch.amountFen)} to the institution: settlement account ${await bankBalance(settlement)}.`,
  );

  const refund = await call<{ id: string; amountFen: number }>(
    'POST',
    `${api}/v1/orders/${order.id}/refunds`,
    parent,
    { reason: 'mid_course', note: '搬家' },
  );
  await call('POST', `${api}/v1/refunds/${refund.id}/approve`, staff);
  await until('the refund', async () => {
    const view = await call<{ status: string }>('GET', `${api}/v1/refunds/${refund.id}`, parent);
    return view.status === 'paid' ? view : undefined;
  });
  say(
    `7. The parent asks for the rest back; the institution agrees; ${yuan(refund.amountFen)} goes back to ${payer.accountNo}.`,
  );

  const final = await call('GET', `${api}/v1/orders/${order.id}`, parent);
  say('\nThe order:');
  for (const key of ['paidFen', 'releasedFen', 'heldFen', 'refundedFen', 'refundableFen']) {
    say(`  ${key.padEnd(14)} ${yuan(final[key])}`);
  }
  say('At the bank:');
  say(
    `  custody     ${await bankBalance(custody)}  (the held lesson's fee, until the parent confirms it)`,
  );
  say(`  settlement  ${await bankBalance(settlement)}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).message}\n`);
  process.exit(1);
});
