const assert = require("assert");
const { slugify } = require("./slug");

assert.strictEqual(slugify("Hello World"), "hello-world");
assert.strictEqual(slugify("  Many   spaces  here "), "many-spaces-here");
assert.strictEqual(slugify("C'est la vie!"), "cest-la-vie");
console.log("ok");
