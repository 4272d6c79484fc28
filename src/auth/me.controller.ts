import { Controller, Get } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Roles } from './auth.decorators';
import { Principal, ROLES, Role } from './principal';

class PrincipalDto {
  @ApiProperty({ example: 'p-1' })
  sub!: string;

  @ApiProperty({ enum: ROLES })
  role!: Role;

  @ApiPropertyOptional({ format: 'uuid' })
  institutionId?: string;

  @ApiPropertyOptional({ example: '510112' })
  districtId?: string;
}

@ApiTags('auth')
@ApiBearerAuth()
@Controller('v1/me')
export class MeController {
  @Get()
  @Roles(...ROLES)
  @ApiOperation({ operationId: 'getMe', summary: 'The principal the bearer token stands for' })
  @ApiOkResponse({ type: PrincipalDto })
  getMe(@CurrentPrincipal() principal: Principal): PrincipalDto {
    return principal;
  }
}
