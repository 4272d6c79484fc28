import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsString, Matches, ValidateNested } from 'class-validator';
import { IsDistrictId, IsTrimmedText, Trim } from '../validation';

export const BANK_CODE_PATTERN = /^[A-Z0-9]{2,16}$/;
export const ACCOUNT_NO_PATTERN = /^[0-9]{6,34}$/;

export class BankAccountInput {
  @ApiProperty({ pattern: BANK_CODE_PATTERN.source, example: 'ICBC' })
  @Trim()
  @IsString()
  @Matches(BANK_CODE_PATTERN, { message: '$property must be 2-16 capital letters or digits' })
  bankCode!: string;

  @ApiProperty({ pattern: ACCOUNT_NO_PATTERN.source, example: '6222020200112233445' })
  @Trim()
  @IsString()
  @Matches(ACCOUNT_NO_PATTERN, { message: '$property must be 6-34 digits' })
  accountNo!: string;

  @IsTrimmedText(1, 200, { example: 'Chengdu Bright Minds Training Centre (custody)' })
  accountName!: string;
}

export class RegisterInstitutionDto {
  @IsTrimmedText(1, 200, { example: 'Chengdu Bright Minds Training Centre' })
  name!: string;

  @IsTrimmedText(1, 64, { description: 'School-running licence number', example: 'JY-510112-0042' })
  licenseNo!: string;

  @IsDistrictId({ description: "Must be the operator's own district" })
  districtId!: string;

  @ApiProperty({
    type: BankAccountInput,
    description: 'The supervised custody account (监管账户) that receives every parent payment',
  })
  @IsObject()
  @ValidateNested()
  @Type(() => BankAccountInput)
  custodyAccount!: BankAccountInput;

  @ApiProperty({
    type: BankAccountInput,
    description: "The institution's own settlement account (结算账户) that released fees go to",
  })
  @IsObject()
  @ValidateNested()
  @Type(() => BankAccountInput)
  settlementAccount!: BankAccountInput;
}
