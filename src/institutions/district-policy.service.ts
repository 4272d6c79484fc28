import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { toFen } from '../common/money/fen';
import {
  DEFAULT_DISTRICT_POLICY,
  DistrictPolicy,
  DistrictPolicyValues,
} from './entities/district-policy.entity';
import { CursorPosition, cursorTimeSql } from '../common/pagination/cursor';

export interface DistrictPolicyView extends DistrictPolicyValues {
  districtId: string;
  /** 0 while the district runs on the defaults. */
  version: number;
  updatedBy: string | null;
  updatedAt: Date | null;
}

export interface DistrictPolicyChangeRow {
  id: string;
  version: number;
  policy: DistrictPolicyValues;
  changed_by: string;
  changed_at: Date;
  cursor_time: string;
}

/** The policy values alone, in a fixed field order (what the change history stores). */
export function policyValuesOf(policy: DistrictPolicyValues): DistrictPolicyValues {
  return {
    maxLessons: policy.maxLessons,
    maxSpanMonths: policy.maxSpanMonths,
    maxAmountFen: policy.maxAmountFen,
    renewalThreshold: policy.renewalThreshold,
    priceCapBands: policy.priceCapBands.map((band) => ({
      minClassSize: band.minClassSize,
      maxClassSize: band.maxClassSize,
      baseFen: band.baseFen,
    })),
    priceCapMarkupPercent: policy.priceCapMarkupPercent,
    standardLessonMinutes: policy.standardLessonMinutes,
    autoConfirmWorkingDays: policy.autoConfirmWorkingDays,
    refundSilenceWorkingDays: policy.refundSilenceWorkingDays,
  };
}

/**
 * Reads a district's stored policy, or the defaults of DESIGN.md §3 when it has none yet; writes
 * new versions with their history. Every method runs on the caller's manager (transaction).
 */
@Injectable()
export class DistrictPolicyService {
  async get(manager: EntityManager, districtId: string): Promise<DistrictPolicyView> {
    const stored = await manager.findOneBy(DistrictPolicy, { districtId });
    if (stored) return stored;
    return { ...DEFAULT_DISTRICT_POLICY, districtId, version: 0, updatedBy: null, updatedAt: null };
  }

  /**
   * Replaces the district's policy with the next version and records it in the history, in the
   * caller's transaction. INSERT … ON CONFLICT DO UPDATE takes the row lock (or creates the row),
   * so concurrent changes queue up and each gets its own version. The time is taken once the lock
   * is held (clock_timestamp, not the transaction's start), so later versions have later times.
   */
  async set(
    manager: EntityManager,
    districtId: string,
    values: DistrictPolicyValues,
    changedBy: string,
  ): Promise<DistrictPolicyView> {
    const policy = policyValuesOf(values);
    const [row]: { version: number; updated_at: Date }[] = await manager.query(
      `INSERT INTO district_policies AS p (district_id, version, max_lessons, max_span_months,
         max_amount_fen, renewal_threshold, price_cap_bands, price_cap_markup_percent,
         standard_lesson_minutes, auto_confirm_working_days, refund_silence_working_days,
         updated_by, updated_at)
       VALUES ($1, 1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, clock_timestamp())
       ON CONFLICT (district_id) DO UPDATE SET
         version = p.version + 1,
         max_lessons = EXCLUDED.max_lessons,
         max_span_months = EXCLUDED.max_span_months,
         max_amount_fen = EXCLUDED.max_amount_fen,
         renewal_threshold = EXCLUDED.renewal_threshold,
         price_cap_bands = EXCLUDED.price_cap_bands,
         price_cap_markup_percent = EXCLUDED.price_cap_markup_percent,
         standard_lesson_minutes = EXCLUDED.standard_lesson_minutes,
         auto_confirm_working_days = EXCLUDED.auto_confirm_working_days,
         refund_silence_working_days = EXCLUDED.refund_silence_working_days,
         updated_by = EXCLUDED.updated_by,
         updated_at = clock_timestamp()
       RETURNING version, updated_at`,
      [
        districtId,
        policy.maxLessons,
        policy.maxSpanMonths,
        String(toFen(policy.maxAmountFen)),
        policy.renewalThreshold,
        JSON.stringify(policy.priceCapBands),
        policy.priceCapMarkupPercent,
        policy.standardLessonMinutes,
        policy.autoConfirmWorkingDays,
        policy.refundSilenceWorkingDays,
        changedBy,
      ],
    );
    await manager.query(
      `INSERT INTO district_policy_changes (district_id, version, policy, changed_by, changed_at)
       VALUES ($1, $2, $3::jsonb, $4, $5)`,
      [districtId, row.version, JSON.stringify(policy), changedBy, row.updated_at],
    );
    return {
      ...policy,
      districtId,
      version: row.version,
      updatedBy: changedBy,
      updatedAt: row.updated_at,
    };
  }

  /** The district's policy changes, newest first, after the given key. */
  history(
    manager: EntityManager,
    districtId: string,
    page: { before?: CursorPosition; limit: number },
  ): Promise<DistrictPolicyChangeRow[]> {
    const params: unknown[] = [districtId, page.limit];
    let before = '';
    if (page.before) {
      params.push(page.before.createdAt, page.before.id);
      before = 'AND (changed_at, id) < ($3::timestamptz, $4::bigint)';
    }
    return manager.query(
      `SELECT id::text AS id, version, policy, changed_by, changed_at,
              ${cursorTimeSql('changed_at')} AS cursor_time
       FROM district_policy_changes
       WHERE district_id = $1 ${before}
       ORDER BY changed_at DESC, id DESC LIMIT $2`,
      params,
    );
  }
}
