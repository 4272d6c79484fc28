/**
 * Money that arrived in a custody account (DESIGN.md §5.1). A payment that matches a pending order
 * exactly (reference, amount, the order's institution's custody account) pays it; anything else is
 * still booked, to the receiving institution's suspense account, and raised for operators.
 * Money is never dropped and never attached to the wrong order.
 */
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { toFen } from '../common/money/fen';
import { OperatorExceptionsService } from '../exceptions/operator-exceptions.service';
import { LedgerService } from '../ledger/ledger.service';
import { Order } from './entities/order.entity';
import { Payment, PaymentOutcome } from './entities/payment.entity';

export interface IncomingPayment {
  eventId: string;
  bankTxnId: string;
  accountNo: string;
  amountFen: number;
  reference: string;
  occurredAt: Date;
  payerAccount: { bankCode: string; accountNo: string; accountName: string };
}

export interface PaymentReceipt {
  paymentId: string;
  outcome: PaymentOutcome | 'duplicate';
  orderId: string | null;
}

interface CustodyRow {
  institution_id: string;
  district_id: string;
}

@Injectable()
export class ReceivePayment {
  constructor(
    private readonly ledger: LedgerService,
    private readonly exceptions: OperatorExceptionsService,
  ) {}

  async execute(manager: EntityManager, payment: IncomingPayment): Promise<PaymentReceipt> {
    const [earlier]: { id: string; order_id: string | null }[] = await manager.query(
      'SELECT id, order_id FROM payments WHERE bank_txn_id = $1',
      [payment.bankTxnId],
    );
    if (earlier) return { paymentId: earlier.id, outcome: 'duplicate', orderId: earlier.order_id };

    const [custody]: CustodyRow[] = await manager.query(
      `SELECT i.id AS institution_id, i.district_id
       FROM institution_bank_accounts b JOIN institutions i ON i.id = b.institution_id
       WHERE b.account_no = $1 AND b.kind = 'custody'`,
      [payment.accountNo],
    );
    const order = await manager
      .createQueryBuilder(Order, 'o')
      .setLock('pessimistic_write')
      .where('o.payment_reference = :reference', { reference: payment.reference })
      .getOne();

    const outcome = this.outcomeOf(payment, custody, order);
    let ledgerTransactionId: string | null = null;
    if (custody) {
      const accounts = await this.ledger.institutionAccounts(manager, custody.institution_id);
      ledgerTransactionId = await this.ledger.post(manager, {
        kind: outcome === 'matched' ? 'payment_received' : 'payment_unmatched',
        reference: `payment:${payment.bankTxnId}`,
        institutionId: custody.institution_id,
        effectiveAt: payment.occurredAt,
        metadata: { bankTxnId: payment.bankTxnId, reference: payment.reference, outcome },
        transfers: [
          {
            debitAccountId: accounts.custody_cash,
            creditAccountId:
              outcome === 'matched' && order ? order.escrowAccountId : accounts.suspense,
            amountFen: payment.amountFen,
          },
        ],
      });
    }
    if (outcome === 'matched' && order) {
      await manager.update(Order, order.id, {
        status: 'active',
        paidAt: payment.occurredAt,
        payerBankCode: payment.payerAccount.bankCode,
        payerAccountNo: payment.payerAccount.accountNo,
        payerAccountName: payment.payerAccount.accountName,
      });
    }
    const saved = await manager.save(
      manager.create(Payment, {
        eventId: payment.eventId,
        bankTxnId: payment.bankTxnId,
        institutionId: custody?.institution_id ?? null,
        orderId: outcome === 'matched' && order ? order.id : null,
        accountNo: payment.accountNo,
        amountFen: payment.amountFen,
        reference: payment.reference,
        payerBankCode: payment.payerAccount.bankCode,
        payerAccountNo: payment.payerAccount.accountNo,
        payerAccountName: payment.payerAccount.accountName,
        outcome,
        ledgerTransactionId,
        occurredAt: payment.occurredAt,
      }),
    );
    if (outcome !== 'matched') {
      await this.exceptions.raise(manager, {
        kind: 'unmatched_payment',
        subjectId: saved.id,
        districtId: custody?.district_id ?? null,
        institutionId: custody?.institution_id ?? null,
        amountFen: payment.amountFen,
        details: {
          outcome,
          bankTxnId: payment.bankTxnId,
          reference: payment.reference,
          accountNo: payment.accountNo,
          candidateOrderId: order?.id ?? null,
          bookedTo: custody ? 'suspense' : 'nothing: unknown custody account',
        },
      });
    }
    return { paymentId: saved.id, outcome, orderId: saved.orderId };
  }

  private outcomeOf(
    payment: IncomingPayment,
    custody: CustodyRow | undefined,
    order: Order | null,
  ): PaymentOutcome {
    if (!custody) return 'unknown_account';
    if (!order) return 'unknown_reference';
    if (order.institutionId !== custody.institution_id) return 'wrong_account';
    if (order.status !== 'pending_payment') return 'order_not_payable';
    if (toFen(order.amountFen) !== payment.amountFen) return 'amount_mismatch';
    return 'matched';
  }
}
