import { Injectable, PipeTransform } from '@nestjs/common';
import { validationFailed } from '../../common/errors/domain.exception';

/**
 * For routes that take no query parameters: an unknown parameter is refused, as the global
 * ValidationPipe refuses unknown fields of a DTO (a DTO without fields cannot say so).
 */
@Injectable()
export class NoQueryParams implements PipeTransform<Record<string, unknown>> {
  transform(query: Record<string, unknown>): Record<string, unknown> {
    const unknown = Object.keys(query ?? {});
    if (unknown.length > 0) {
      throw validationFailed(unknown.map((field) => ({ field, message: 'is not a known field' })));
    }
    return query;
  }
}
