import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../../config/config';
import { RequestLogMiddleware } from './request-log.middleware';

/**
 * Logging: pino as Nest's logger, and this service's own access log with request ids
 * (RequestLogMiddleware). nestjs-pino's HTTP middleware is left unapplied (`forRoutes: []`): it
 * built a child logger per request, serialising the request's headers whatever the level, and ran
 * each request in an AsyncLocalStorage context, which makes every promise of the process pay for
 * async hooks. Log lines written while serving a request name its id themselves where they matter
 * (the errors' filter).
 */
@Module({})
export class LoggingModule implements NestModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            // Whatever logs a request's headers never writes its credentials.
            redact: [
              'req.headers.authorization',
              'req.headers["x-bank-signature"]',
              'req.headers.cookie',
            ],
          },
          forRoutes: [],
        }),
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestLogMiddleware).forRoutes('*');
  }
}
