import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { validationFailed } from '../../common/errors/domain.exception';
import { ChainVerification, VerifyOptions, verifyAtOneInstant } from './chain';
import { HashAlgorithm } from './hashing';
import { SEALING_CONFIG, SealingConfig } from './sealing.config';

export interface IntegrityReport extends ChainVerification {
  /** The algorithm new blocks are sealed with; each block names its own. */
  algorithm: HashAlgorithm;
  checkedAt: string;
}

/** Recomputes the seal chain for GET /v1/audit/integrity: the same code as `verify-ledger`. */
@Injectable()
export class IntegrityService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(SEALING_CONFIG) private readonly config: SealingConfig,
  ) {}

  async verify(options: VerifyOptions = {}): Promise<IntegrityReport> {
    if (
      options.fromHeight !== undefined &&
      options.toHeight !== undefined &&
      options.toHeight < options.fromHeight
    ) {
      throw validationFailed([{ field: 'toHeight', message: 'must not be below fromHeight' }]);
    }
    const verification = await verifyAtOneInstant(this.dataSource, options);
    return {
      ...verification,
      algorithm: this.config.algorithm,
      checkedAt: new Date().toISOString(),
    };
  }
}
