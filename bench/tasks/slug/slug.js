// Turns a title into a URL slug: lower case, words joined by single dashes, no other characters.
function slugify(title) {
  return title.toLowerCase().split(" ").join("-");
}

module.exports = { slugify };
