/**
 * Development tokens: `npm run token -- --role parent --sub p-1`
 * (`--institution <uuid>` for institution staff, `--district <id>` for every role but parent,
 * `--expires-in <seconds>`). Signed with the configured JWT_SECRET (HS256).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config';
import { principalFromClaims, signToken } from '../auth/token.service';
import { Role } from '../auth/principal';

function main(): void {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      sub: { type: 'string' },
      institution: { type: 'string' },
      district: { type: 'string' },
      'expires-in': { type: 'string', default: '3600' },
    },
  });
  const { config } = loadConfig();
  if (config.jwt.publicKey) {
    throw new Error('JWT_PUBLIC_KEY is set: sign RS256 tokens with your identity provider');
  }
  const claims = {
    sub: values.sub ?? '',
    role: (values.role ?? '') as Role,
    ...(values.institution ? { institutionId: values.institution } : {}),
    ...(values.district ? { districtId: values.district } : {}),
  };
  principalFromClaims(claims); // the same checks the service applies
  const expiresInSeconds = Number(values['expires-in']);
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1) {
    throw new Error('--expires-in must be a positive number of seconds');
  }
  process.stdout.write(`${signToken(claims, config.jwt.secret, { expiresInSeconds })}\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`token: ${(error as Error).message}\n`);
  process.exit(1);
}
