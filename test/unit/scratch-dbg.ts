import fc from 'fast-check';
const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 60, maxLength: 68 });
const e1 = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.tuple(fc.constantFrom('t', 'v1', 'v0', '', '='), fc.oneof(fc.string({ maxLength: 70 }), hex)).map(([k, v]) => `${k}=${v}`),
);
let t = Date.now();
fc.sample(fc.array(fc.array(e1, { maxLength: 8 }).map((e) => e.join(',')), { maxLength: 3 }), 300);
console.log('tuple', Date.now() - t); t = Date.now();
fc.sample(fc.uint8Array({ maxLength: 64 }), 300);
console.log('u8', Date.now() - t); t = Date.now();
