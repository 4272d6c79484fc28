import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { DistrictPolicyValues } from './district-policy.entity';

/** Every version a district's policy ever had, with who set it and when. */
@Entity('district_policy_changes')
export class DistrictPolicyChange {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column('text')
  districtId!: string;

  @Column('int')
  version!: number;

  @Column('jsonb')
  policy!: DistrictPolicyValues;

  @Column('text')
  changedBy!: string;

  @Column('timestamptz')
  changedAt!: Date;
}
