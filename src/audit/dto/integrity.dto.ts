import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Min } from 'class-validator';
import { HASH_ALGORITHMS, HashAlgorithm } from '../sealing/hashing';
import type { BadBlockReason } from '../sealing/chain';

const BAD_BLOCK_REASONS: BadBlockReason[] = [
  'height_gap',
  'previous_hash_mismatch',
  'unknown_format',
  'transactions_missing_or_added',
  'transactions_changed',
  'block_hash_mismatch',
];

export class IntegrityQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: 'first block to verify; the block before it is trusted. Default 1',
  })
  fromHeight?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'last block; default the head' })
  toHeight?: number;
}

export class SealBlockDto {
  @ApiProperty({ type: 'integer', example: 12 }) height!: number;
  @ApiProperty({ enum: HASH_ALGORITHMS, example: 'sm3' }) algorithm!: HashAlgorithm;
  @ApiProperty({ example: '11001' }) firstSeq!: string;
  @ApiProperty({ example: '12000' }) lastSeq!: string;
  @ApiProperty({ type: 'integer', example: 1000 }) transactionCount!: number;
  @ApiProperty({ type: 'integer', example: 2400 }) postingCount!: number;
  @ApiProperty({ example: '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0' })
  blockHash!: string;
  @ApiProperty({ format: 'date-time' }) sealedAt!: string;
}

export class BadBlockDto {
  @ApiProperty({ type: 'integer', example: 7 }) height!: number;
  @ApiProperty({ enum: BAD_BLOCK_REASONS, example: 'transactions_changed' })
  reason!: BadBlockReason;
  @ApiProperty({ example: 'sealed 2400 postings, found 2399; transactions hash differs' })
  detail!: string;
  @ApiProperty({ example: '6001' }) firstSeq!: string;
  @ApiProperty({ example: '7000' }) lastSeq!: string;
  @ApiProperty({ format: 'date-time' }) sealedAt!: string;
}

export class IntegrityReportDto {
  @ApiProperty({ example: true, description: 'every verified block recomputes to its hash' })
  ok!: boolean;
  @ApiProperty({ type: 'integer', example: 12, description: 'blocks verified' })
  blocks!: number;
  @ApiProperty({ type: 'integer', example: 11_734, description: 'sealed transactions verified' })
  transactions!: number;
  @ApiProperty({ type: 'integer', example: 28_102 }) postings!: number;
  @ApiPropertyOptional({ type: BadBlockDto, description: 'the first block that fails, if any' })
  firstBadBlock?: BadBlockDto;
  @ApiProperty({ type: 'integer', example: 0 }) badBlocks!: number;
  @ApiProperty({
    type: SealBlockDto,
    nullable: true,
    description: 'the last block verified: record its hash outside the database to anchor it',
  })
  head!: SealBlockDto | null;
  @ApiProperty({ type: 'integer', example: 3, description: 'committed, not sealed yet' })
  unsealedTransactions!: number;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 0,
    description: 'postings of no transaction; checked when the whole chain is verified',
  })
  orphanPostings!: number | null;
  @ApiProperty({ enum: HASH_ALGORITHMS, example: 'sm3', description: 'for new blocks' })
  algorithm!: HashAlgorithm;
  @ApiProperty({ format: 'date-time' }) checkedAt!: string;
}
