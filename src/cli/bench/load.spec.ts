import jwt from 'jsonwebtoken';
import { ConfirmRequest, ConfirmationSupply } from './load';
import { lessonIdOf, parentIdOf } from './seed';

const SECRET = 'bench-load-spec-secret';

const supplyOf = (lessons: number, lessonsPerOrder: number) =>
  new ConfirmationSupply({
    lessons,
    lessonsPerOrder,
    jwtSecret: SECRET,
    idempotencyKey: (ordinal) => `key-${ordinal}`,
  });

function drain(supply: ConfirmationSupply): ConfirmRequest[] {
  const given: ConfirmRequest[] = [];
  for (let request = supply.next(); request; request = supply.next()) given.push(request);
  return given;
}

describe('ConfirmationSupply', () => {
  it('gives each lesson once, those seeded first, then those of each range added', () => {
    const supply = supplyOf(12, 3);
    expect(supply.left).toBe(12);
    const first = [supply.next(), supply.next()].map((request) => request?.ordinal);
    expect(supply.left).toBe(10);
    supply.add({ base: 30, size: 6 });
    expect(supply.left).toBe(16);
    const rest = drain(supply);
    expect(supply.left).toBe(0);
    expect(supply.next()).toBeUndefined();

    const ordinals = [...first, ...rest.map((request) => request.ordinal)];
    // The first seed's lessons all come before the range added later.
    expect(new Set(ordinals.slice(0, 12))).toEqual(
      new Set(Array.from({ length: 12 }, (_, i) => i)),
    );
    expect(new Set(ordinals.slice(12))).toEqual(new Set([30, 31, 32, 33, 34, 35]));
  });

  it("sends each confirmation as the lesson's parent, with its own key", () => {
    const supply = supplyOf(6, 2);
    supply.add({ base: 10, size: 2 });
    for (const request of drain(supply)) {
      expect(request.lessonId).toBe(lessonIdOf(request.ordinal));
      expect(request.idempotencyKey).toBe(`key-${request.ordinal}`);
      const claims = jwt.verify(request.authorization.replace(/^Bearer /, ''), SECRET);
      expect(claims).toMatchObject({
        sub: parentIdOf(Math.floor(request.ordinal / 2)),
        role: 'parent',
      });
    }
  });
});
