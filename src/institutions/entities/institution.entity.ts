import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';

export const INSTITUTION_STATUSES = ['active', 'suspended', 'closed'] as const;
export type InstitutionStatus = (typeof INSTITUTION_STATUSES)[number];

@Entity('institutions')
export class Institution {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  name!: string;

  @Column('text')
  licenseNo!: string;

  @Column('text')
  districtId!: string;

  @Column('text')
  status!: InstitutionStatus;

  @Column('text', { nullable: true })
  statusReason!: string | null;

  @Column('text')
  createdBy!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
