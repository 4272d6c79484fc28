import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An accepted bank notification; its stored response answers any replay of the same event. */
@Entity('bank_events')
export class BankEvent {
  @PrimaryColumn('text')
  eventId!: string;

  @Column('text')
  type!: string;

  @Column('text')
  bodySha256!: string;

  @Column('jsonb')
  response!: Record<string, unknown>;

  @Column('timestamptz')
  receivedAt!: Date;
}
