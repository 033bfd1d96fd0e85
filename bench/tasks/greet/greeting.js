// Greets a person by name; an empty name greets the world.
function greet(name) {
  if (name === "") {
    return "Hello, " + name + "!";
  }
  return "Hello, " + name + "!";
}

module.exports = { greet };
