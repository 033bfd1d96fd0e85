const assert = require("assert");
const { greet } = require("./greeting");

assert.strictEqual(greet("Ada"), "Hello, Ada!");
assert.strictEqual(greet(""), "Hello, world!");
console.log("ok");
