import { readFileSync } from 'node:fs';
import { OPENAPI_PATH, generateOpenApi } from '../../src/cli/openapi';

describe('OpenAPI document', () => {
  it('is committed as generated from the code (run `npm run openapi`)', async () => {
    const generated = await generateOpenApi();
    expect(JSON.parse(readFileSync(OPENAPI_PATH, 'utf8'))).toEqual(JSON.parse(generated));
  });
});
