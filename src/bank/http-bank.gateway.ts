/**
 * `BankGateway` over HTTP, against the bank API the sandbox bank serves (`/bank/*`): the same
 * protocol a real host-to-host adapter is written against. Every call is bounded by
 * `config.bank.timeoutMs`. What retrying may fix (no connection, a timeout, a 5xx, an answer we
 * cannot read) is a `BankUnavailableError`; what the bank refused (4xx) is a `BankRejectedError`.
 * A transfer that timed out may still have been executed: resubmitting the same instruction id, or
 * asking `getTransfer`, tells.
 */
import type { AppConfig } from '../config/config';
import {
  BankGateway,
  BankRejectedError,
  BankUnavailableError,
  StatementFormat,
  TransferInstruction,
  TransferResult,
  TransferState,
} from './bank-gateway';

const STATES: readonly TransferState[] = ['accepted', 'succeeded', 'failed'];

interface BankResponse {
  status: number;
  body: Buffer;
}

export class HttpBankGateway implements BankGateway {
  private readonly baseUrl: string;

  constructor(private readonly options: Pick<AppConfig['bank'], 'apiUrl' | 'timeoutMs'>) {
    this.baseUrl = options.apiUrl.replace(/\/+$/, '');
  }

  async submitTransfer(instruction: TransferInstruction): Promise<TransferResult> {
    // Exactly the protocol's fields, whatever else the caller's object carries.
    const { instructionId, endToEndId, fromAccountNo, to, amountFen, purpose } = instruction;
    const response = await this.call('POST', '/bank/transfers', {
      instructionId,
      endToEndId,
      fromAccountNo,
      to: { bankCode: to.bankCode, accountNo: to.accountNo, accountName: to.accountName },
      amountFen,
      purpose,
    });
    return this.transferResult(response, instruction.instructionId);
  }

  async getTransfer(instructionId: string): Promise<TransferResult | null> {
    const response = await this.call(
      'GET',
      `/bank/transfers/${encodeURIComponent(instructionId)}`,
      undefined,
      [404],
    );
    if (response.status === 404) return null;
    return this.transferResult(response, instructionId);
  }

  async fetchStatement(
    accountNo: string,
    from: string,
    to: string,
    format: StatementFormat,
  ): Promise<Buffer> {
    const query = new URLSearchParams({ from, to, format });
    const response = await this.call(
      'GET',
      `/bank/statements/${encodeURIComponent(accountNo)}?${query.toString()}`,
    );
    return response.body;
  }

  /** One request with a deadline covering the answer's body too. */
  private async call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    passStatuses: number[] = [],
  ): Promise<BankResponse> {
    const what = `${method} ${path.split('?')[0]}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    let response: BankResponse;
    try {
      const answer = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          Accept: 'application/json, application/xml, text/csv',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
        signal: controller.signal,
      });
      response = { status: answer.status, body: Buffer.from(await answer.arrayBuffer()) };
    } catch (error) {
      const reason = controller.signal.aborted
        ? `no answer within ${this.options.timeoutMs} ms`
        : describeNetworkError(error);
      throw new BankUnavailableError(`bank ${what}: ${reason}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    if (response.status >= 200 && response.status < 300) return response;
    if (passStatuses.includes(response.status)) return response;
    const problem = describeProblem(response);
    if (response.status >= 400 && response.status < 500) {
      throw new BankRejectedError(`bank ${what} refused: ${problem}`);
    }
    throw new BankUnavailableError(`bank ${what} failed: ${problem}`);
  }

  private transferResult(response: BankResponse, instructionId: string): TransferResult {
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body.toString('utf8'));
    } catch {
      throw new BankUnavailableError(`bank answered instruction ${instructionId} with no JSON`);
    }
    const result = parsed as Partial<Record<keyof TransferResult, unknown>> | null;
    const valid =
      typeof result === 'object' &&
      result !== null &&
      result.instructionId === instructionId &&
      STATES.includes(result.state as TransferState) &&
      (result.bankTxnId === undefined || typeof result.bankTxnId === 'string') &&
      (result.reason === undefined || typeof result.reason === 'string');
    if (!valid) {
      // Not an answer to our question: asking again is safe (idempotent) and may get a good one.
      throw new BankUnavailableError(`bank answered instruction ${instructionId} unreadably`);
    }
    return {
      instructionId,
      state: result.state as TransferState,
      ...(result.bankTxnId === undefined ? {} : { bankTxnId: result.bankTxnId as string }),
      ...(result.reason === undefined ? {} : { reason: result.reason as string }),
    };
  }
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(error);
}

/** `409 INSTRUCTION_ID_REUSED: …` from a problem-details body, or the status and some text. */
function describeProblem(response: BankResponse): string {
  const text = response.body.toString('utf8');
  try {
    const problem = JSON.parse(text) as { code?: unknown; detail?: unknown };
    if (typeof problem.code === 'string') {
      const detail = typeof problem.detail === 'string' ? problem.detail : '';
      return `${response.status} ${problem.code}: ${detail}`;
    }
  } catch {
    // not JSON: fall through
  }
  return `${response.status} ${text.slice(0, 200)}`;
}
