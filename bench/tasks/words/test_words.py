import unittest

from title import slug_title
from words import join_words


class WordsTest(unittest.TestCase):
    def test_join_default(self):
        self.assertEqual(join_words(["a", "b"]), "a b")

    def test_join_with_separator(self):
        self.assertEqual(join_words(["a", "b"], sep="+"), "a+b")

    def test_slug_title(self):
        self.assertEqual(slug_title(["Hello", "World"]), "hello-world")


if __name__ == "__main__":
    unittest.main()
