import { Column, Entity, PrimaryColumn } from 'typeorm';
import { fenTransformer } from '../../common/money/fen';

/** Guided price per student-lesson for a class-size band (政府指导价), in fen. */
export interface PriceCapBand {
  minClassSize: number;
  /** Inclusive; null for "and over". */
  maxClassSize: number | null;
  baseFen: number;
}

/** A district's rules (DESIGN.md §3). A district without a row uses DEFAULT_DISTRICT_POLICY. */
@Entity('district_policies')
export class DistrictPolicy {
  @PrimaryColumn('text')
  districtId!: string;

  @Column('int')
  version!: number;

  @Column('int')
  maxLessons!: number;

  @Column('int')
  maxSpanMonths!: number;

  @Column('bigint', { transformer: fenTransformer })
  maxAmountFen!: number;

  @Column('int')
  renewalThreshold!: number;

  @Column('jsonb')
  priceCapBands!: PriceCapBand[];

  @Column('int')
  priceCapMarkupPercent!: number;

  @Column('int')
  standardLessonMinutes!: number;

  /** Off (null) by default; the national platform uses 15. */
  @Column('int', { nullable: true })
  autoConfirmWorkingDays!: number | null;

  @Column('int')
  refundSilenceWorkingDays!: number;

  @Column('text')
  updatedBy!: string;

  @Column('timestamptz')
  updatedAt!: Date;
}

export type DistrictPolicyValues = Omit<
  DistrictPolicy,
  'districtId' | 'version' | 'updatedBy' | 'updatedAt'
>;

/** Longquanyi's rules: 60 lessons, 3 months, 5,000 yuan, renewal above 20, caps 50/42/35 yuan +10%. */
export const DEFAULT_DISTRICT_POLICY: DistrictPolicyValues = {
  maxLessons: 60,
  maxSpanMonths: 3,
  maxAmountFen: 500_000,
  renewalThreshold: 20,
  priceCapBands: [
    { minClassSize: 1, maxClassSize: 9, baseFen: 5_000 },
    { minClassSize: 10, maxClassSize: 34, baseFen: 4_200 },
    { minClassSize: 35, maxClassSize: null, baseFen: 3_500 },
  ],
  priceCapMarkupPercent: 10,
  standardLessonMinutes: 45,
  autoConfirmWorkingDays: null,
  refundSilenceWorkingDays: 5,
};
