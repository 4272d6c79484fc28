import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type BankAccountKind = 'custody' | 'settlement';

/** The institution's two bank accounts (DESIGN.md §1: "1+2+1"); one of each kind. */
@Entity('institution_bank_accounts')
export class InstitutionBankAccount {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('uuid')
  institutionId!: string;

  @Column('text')
  kind!: BankAccountKind;

  @Column('text')
  bankCode!: string;

  @Column('text')
  accountNo!: string;

  @Column('text')
  accountName!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;
}
