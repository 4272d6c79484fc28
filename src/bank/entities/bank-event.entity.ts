import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An accepted bank notification (the record; replays are answered by IdempotencyService). */
@Entity('bank_events')
export class BankEvent {
  @PrimaryColumn('text')
  eventId!: string;

  @Column('text')
  type!: string;

  @Column('text')
  bodySha256!: string;

  @Column('timestamptz')
  receivedAt!: Date;
}
